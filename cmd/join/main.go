// Command join is dstream's join stage; see 'join --help'.
package main

import (
	"os"

	"dstream/lib/ops"
	"dstream/lib/stage"
)

func main() { os.Exit(stage.Main(ops.Join, os.Args)) }
