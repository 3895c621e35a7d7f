// Command transform is dstream's transform stage; see 'transform --help'.
package main

import (
	"os"

	"dstream/lib/ops"
	"dstream/lib/stage"
)

func main() { os.Exit(stage.Main(ops.Transform, os.Args)) }
