// Command produce is dstream's produce stage; see 'produce --help'.
package main

import (
	"os"

	"dstream/lib/ops"
	"dstream/lib/stage"
)

func main() { os.Exit(stage.Main(ops.Produce, os.Args)) }
