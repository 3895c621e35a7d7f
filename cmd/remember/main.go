// Command remember is dstream's remember stage; see 'remember --help'.
package main

import (
	"os"

	"dstream/lib/ops"
	"dstream/lib/stage"
)

func main() { os.Exit(stage.Main(ops.Remember, os.Args)) }
