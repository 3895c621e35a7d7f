// Command print is dstream's print stage; see 'print --help'.
package main

import (
	"os"

	"dstream/lib/ops"
	"dstream/lib/stage"
)

func main() { os.Exit(stage.Main(ops.Print, os.Args)) }
