// Command slice is dstream's slice stage; see 'slice --help'.
package main

import (
	"os"

	"dstream/lib/ops"
	"dstream/lib/stage"
)

func main() { os.Exit(stage.Main(ops.Slice, os.Args)) }
