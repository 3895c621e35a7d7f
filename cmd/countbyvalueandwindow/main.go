// Command countbyvalueandwindow is dstream's countbyvalueandwindow stage; see 'countbyvalueandwindow --help'.
package main

import (
	"os"

	"dstream/lib/ops"
	"dstream/lib/stage"
)

func main() { os.Exit(stage.Main(ops.CountByValueAndWindow, os.Args)) }
