// Command union is dstream's union stage; see 'union --help'.
package main

import (
	"os"

	"dstream/lib/ops"
	"dstream/lib/stage"
)

func main() { os.Exit(stage.Main(ops.Union, os.Args)) }
