// Command leftouterjoin is dstream's leftouterjoin stage; see 'leftouterjoin --help'.
package main

import (
	"os"

	"dstream/lib/ops"
	"dstream/lib/stage"
)

func main() { os.Exit(stage.Main(ops.LeftOuterJoin, os.Args)) }
