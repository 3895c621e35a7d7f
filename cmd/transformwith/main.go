// Command transformwith is dstream's transformwith stage; see 'transformwith --help'.
package main

import (
	"os"

	"dstream/lib/ops"
	"dstream/lib/stage"
)

func main() { os.Exit(stage.Main(ops.TransformWith, os.Args)) }
