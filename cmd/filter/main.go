// Command filter is dstream's filter stage; see 'filter --help'.
package main

import (
	"os"

	"dstream/lib/ops"
	"dstream/lib/stage"
)

func main() { os.Exit(stage.Main(ops.Filter, os.Args)) }
