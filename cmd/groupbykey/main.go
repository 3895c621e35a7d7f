// Command groupbykey is dstream's groupbykey stage; see 'groupbykey --help'.
package main

import (
	"os"

	"dstream/lib/ops"
	"dstream/lib/stage"
)

func main() { os.Exit(stage.Main(ops.GroupByKey, os.Args)) }
