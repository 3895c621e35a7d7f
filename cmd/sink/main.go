// Command sink is dstream's sink stage; see 'sink --help'.
package main

import (
	"os"

	"dstream/lib/ops"
	"dstream/lib/stage"
)

func main() { os.Exit(stage.Main(ops.Sink, os.Args)) }
