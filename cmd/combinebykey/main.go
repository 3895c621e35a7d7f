// Command combinebykey is dstream's combinebykey stage; see 'combinebykey --help'.
package main

import (
	"os"

	"dstream/lib/ops"
	"dstream/lib/stage"
)

func main() { os.Exit(stage.Main(ops.CombineByKey, os.Args)) }
