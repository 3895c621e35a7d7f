// Command updatestatebykey is dstream's updatestatebykey stage; see 'updatestatebykey --help'.
package main

import (
	"os"

	"dstream/lib/ops"
	"dstream/lib/stage"
)

func main() { os.Exit(stage.Main(ops.UpdateStateByKey, os.Args)) }
