package ops

import (
	"context"
	"strconv"

	"dstream/lib/frame"
	"dstream/lib/stage"
)

// Count is Spark's DStream.count.
var Count = &stage.Spec{
	Name:  "count",
	Usage: "count the records of every batch",
	Description: `count gives, for every batch, one unkeyed record: the number of records in
the batch, in decimal. An empty batch gives "0", as Spark's count does. The
output batch has the input's time and interval and one partition. A batch
that arrives in chunks is counted chunk by chunk; nothing is kept.

Example:
   produce --batch 1s --queue a.txt b.txt | count | sink --with-time`,
	Kind: stage.KindOperator,
	New:  func(*stage.Context) (any, error) { return &count{}, nil },
}

type count struct {
	n   int64 // records of the batch so far
	buf [20]byte
	rec [1]frame.Record
	out frame.Batch
}

func (c *count) Process(_ context.Context, b *frame.Batch, out stage.Emitter) error {
	c.n += int64(b.Len())
	if b.More {
		return nil
	}
	c.rec[0] = frame.Record{Value: strconv.AppendInt(c.buf[:0], c.n, 10)}
	c.n = 0
	c.out = frame.Batch{Time: b.Time, Interval: b.Interval, Partitions: []frame.Partition{{Records: c.rec[:]}}}
	return out.Emit(&c.out)
}
