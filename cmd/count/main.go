// Command count is dstream's count stage; see 'count --help'.
package main

import (
	"os"

	"dstream/lib/ops"
	"dstream/lib/stage"
)

func main() { os.Exit(stage.Main(ops.Count, os.Args)) }
