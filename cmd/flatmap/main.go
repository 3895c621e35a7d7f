// Command flatmap is dstream's flatmap stage; see 'flatmap --help'.
package main

import (
	"os"

	"dstream/lib/ops"
	"dstream/lib/stage"
)

func main() { os.Exit(stage.Main(ops.FlatMap, os.Args)) }
