// Command countbywindow is dstream's countbywindow stage; see 'countbywindow --help'.
package main

import (
	"os"

	"dstream/lib/ops"
	"dstream/lib/stage"
)

func main() { os.Exit(stage.Main(ops.CountByWindow, os.Args)) }
