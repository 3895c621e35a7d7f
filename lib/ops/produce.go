package ops

import "dstream/lib/stage"

// Produce is the source stage. (Placeholder: being written.)
var Produce = &stage.Spec{
	Name:  "produce",
	Usage: "read lines, files, a queue, a socket or a generator and emit batches",
	Kind:  stage.KindSource,
	New:   func(c *stage.Context) (any, error) { return nil, stage.Usagef("not yet") },
}
