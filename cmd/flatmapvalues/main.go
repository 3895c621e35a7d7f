// Command flatmapvalues is dstream's flatmapvalues stage; see 'flatmapvalues --help'.
package main

import (
	"os"

	"dstream/lib/ops"
	"dstream/lib/stage"
)

func main() { os.Exit(stage.Main(ops.FlatMapValues, os.Args)) }
