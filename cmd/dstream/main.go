// Command dstream holds every stage: 'dstream STAGE [FLAGS] [ARGS]', or a
// symlink named after a stage.
package main

import (
	"os"

	"dstream/lib/ops"
	"dstream/lib/stage"
)

func main() { os.Exit(stage.MainMulti("dstream", ops.All, os.Args)) }
