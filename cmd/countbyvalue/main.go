// Command countbyvalue is dstream's countbyvalue stage; see 'countbyvalue --help'.
package main

import (
	"os"

	"dstream/lib/ops"
	"dstream/lib/stage"
)

func main() { os.Exit(stage.Main(ops.CountByValue, os.Args)) }
