// Command mapvalues is dstream's mapvalues stage; see 'mapvalues --help'.
package main

import (
	"os"

	"dstream/lib/ops"
	"dstream/lib/stage"
)

func main() { os.Exit(stage.Main(ops.MapValues, os.Args)) }
