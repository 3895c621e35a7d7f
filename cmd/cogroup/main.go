// Command cogroup is dstream's cogroup stage; see 'cogroup --help'.
package main

import (
	"os"

	"dstream/lib/ops"
	"dstream/lib/stage"
)

func main() { os.Exit(stage.Main(ops.Cogroup, os.Args)) }
