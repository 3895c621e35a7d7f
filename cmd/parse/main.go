// Command parse is dstream's parse stage; see 'parse --help'.
package main

import (
	"os"

	"dstream/lib/ops"
	"dstream/lib/stage"
)

func main() { os.Exit(stage.Main(ops.Parse, os.Args)) }
