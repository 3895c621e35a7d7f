// Command fullouterjoin is dstream's fullouterjoin stage; see 'fullouterjoin --help'.
package main

import (
	"os"

	"dstream/lib/ops"
	"dstream/lib/stage"
)

func main() { os.Exit(stage.Main(ops.FullOuterJoin, os.Args)) }
