// Command reducebykey is dstream's reducebykey stage; see 'reducebykey --help'.
package main

import (
	"os"

	"dstream/lib/ops"
	"dstream/lib/stage"
)

func main() { os.Exit(stage.Main(ops.ReduceByKey, os.Args)) }
