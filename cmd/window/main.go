// Command window is dstream's window stage; see 'window --help'.
package main

import (
	"os"

	"dstream/lib/ops"
	"dstream/lib/stage"
)

func main() { os.Exit(stage.Main(ops.Window, os.Args)) }
