// Command groupbykeyandwindow is dstream's groupbykeyandwindow stage; see 'groupbykeyandwindow --help'.
package main

import (
	"os"

	"dstream/lib/ops"
	"dstream/lib/stage"
)

func main() { os.Exit(stage.Main(ops.GroupByKeyAndWindow, os.Args)) }
