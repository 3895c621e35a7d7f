package ops

import (
	"context"

	"dstream/lib/frame"
	"dstream/lib/stage"
)

// Union is Spark's DStream.union and StreamingContext.union.
var Union = &stage.Spec{
	Name:      "union",
	Usage:     "merge stdin with one or more other streams, batch by batch",
	ArgsUsage: "OTHER...",
	Description: `union OTHER... reads stdin and every OTHER (a file of frames, a named pipe, or
<(...) in bash) and, for each batch time, emits one batch with the records of
every input in input order: stdin's, then each OTHER's in the order named.
As Spark's UnionRDD, the output's partitions are stdin's partitions followed
by each OTHER's, so reading it partition by partition gives stdin's records
first. Keyed and unkeyed records pass as they are.

The inputs must have the same batch interval and deliver the same batch
times (an error names the first pair that differs); an input whose first
batch comes later counts as empty before it. One input racing ahead is
read at most --max-skew batches ahead, then blocked. When one input ends
(EOS) before the others, the output ends there too, with a warning that
says what of the others was left unread; STOP on any input stops the stage.
BARRIER n is forwarded (after the snapshot) once every input has sent it.

Example:
   produce --batch 1s --queue a.txt b.txt > other.frames
   produce --batch 1s --queue c.txt d.txt | union other.frames | sink --with-time`,
	MinArgs: 1, MaxArgs: -1,
	Kind: stage.KindMulti,
	New: func(c *stage.Context) (any, error) {
		return &union{others: c.Args().Slice()}, nil
	},
}

type union struct {
	others []string
	out    frame.Batch
}

func (u *union) Inputs() []string { return u.others }

// ProcessAligned emits the inputs' partitions one after another: no
// record is copied.
func (u *union) ProcessAligned(_ context.Context, bs []*frame.Batch, out stage.Emitter) error {
	u.out.Time, u.out.Interval, u.out.More = bs[0].Time, bs[0].Interval, false
	u.out.Partitions = u.out.Partitions[:0]
	for _, b := range bs {
		u.out.Partitions = append(u.out.Partitions, b.Partitions...)
	}
	return out.Emit(&u.out)
}
