// Command mapwithstate is dstream's mapwithstate stage; see 'mapwithstate --help'.
package main

import (
	"os"

	"dstream/lib/ops"
	"dstream/lib/stage"
)

func main() { os.Exit(stage.Main(ops.MapWithState, os.Args)) }
