// Command reducebywindow is dstream's reducebywindow stage; see 'reducebywindow --help'.
package main

import (
	"os"

	"dstream/lib/ops"
	"dstream/lib/stage"
)

func main() { os.Exit(stage.Main(ops.ReduceByWindow, os.Args)) }
