// Command keyby is dstream's keyby stage; see 'keyby --help'.
package main

import (
	"os"

	"dstream/lib/ops"
	"dstream/lib/stage"
)

func main() { os.Exit(stage.Main(ops.KeyBy, os.Args)) }
