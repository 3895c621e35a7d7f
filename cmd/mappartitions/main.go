// Command mappartitions is dstream's mappartitions stage; see 'mappartitions --help'.
package main

import (
	"os"

	"dstream/lib/ops"
	"dstream/lib/stage"
)

func main() { os.Exit(stage.Main(ops.MapPartitions, os.Args)) }
