// Command repartition is dstream's repartition stage; see 'repartition --help'.
package main

import (
	"os"

	"dstream/lib/ops"
	"dstream/lib/stage"
)

func main() { os.Exit(stage.Main(ops.Repartition, os.Args)) }
