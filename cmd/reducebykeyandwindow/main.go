// Command reducebykeyandwindow is dstream's reducebykeyandwindow stage; see 'reducebykeyandwindow --help'.
package main

import (
	"os"

	"dstream/lib/ops"
	"dstream/lib/stage"
)

func main() { os.Exit(stage.Main(ops.ReduceByKeyAndWindow, os.Args)) }
