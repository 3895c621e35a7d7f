// Command rightouterjoin is dstream's rightouterjoin stage; see 'rightouterjoin --help'.
package main

import (
	"os"

	"dstream/lib/ops"
	"dstream/lib/stage"
)

func main() { os.Exit(stage.Main(ops.RightOuterJoin, os.Args)) }
