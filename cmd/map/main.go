// Command map is dstream's map stage; see 'map --help'.
package main

import (
	"os"

	"dstream/lib/ops"
	"dstream/lib/stage"
)

func main() { os.Exit(stage.Main(ops.Map, os.Args)) }
