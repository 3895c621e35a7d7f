// Command glom is dstream's glom stage; see 'glom --help'.
package main

import (
	"os"

	"dstream/lib/ops"
	"dstream/lib/stage"
)

func main() { os.Exit(stage.Main(ops.Glom, os.Args)) }
