// Command reduce is dstream's reduce stage; see 'reduce --help'.
package main

import (
	"os"

	"dstream/lib/ops"
	"dstream/lib/stage"
)

func main() { os.Exit(stage.Main(ops.Reduce, os.Args)) }
