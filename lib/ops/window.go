package ops

import (
	"dstream/lib/frame"
	"dstream/lib/stage"
)

// Window is Spark's DStream.window.
var Window = &stage.Spec{
	Name:      "window",
	Usage:     "gather the batches of a sliding window into one",
	ArgsUsage: "W[/S]",
	Description: `window W/S gives, every S, one batch with the records of the input batches
in the last W: the batches in (T-W, T] for the output of time T.

` + windowArgUsage + `

Records keep their order: partition p of the output is partition p of each
batch of the window, in batch time order, so with one partition (the
default of produce) the window's records are in time order, then input
order. The output has as many partitions as the window's batch with the
most (at least one), and keys are kept: keyed records stay keyed.

Example (Spark's "larger window": 4s windows every 2s over 1s batches):
   produce --batch 1s --queue 0.txt 1.txt 2.txt 3.txt 4.txt 5.txt \
     | window --ephemeral 4s/2s | sink --with-time`,
	MinArgs: 1, MaxArgs: 1,
	Kind:     stage.KindOperator,
	Stateful: true,
	New: func(c *stage.Context) (any, error) {
		return newWindower(c, &windowBatches{})
	},
}

// windowBatches keeps the window's batches whole and emits their records.
type windowBatches struct {
	batchBuffer
	out frame.Batch
}

func (w *windowBatches) emit(out stage.Emitter, t, slide int64) error {
	n := 1
	for _, b := range w.batches {
		n = max(n, b.nparts)
	}
	if len(w.out.Partitions) != n {
		w.out.Partitions = make([]frame.Partition, n)
	}
	for p := range w.out.Partitions {
		recs := w.out.Partitions[p].Records[:0]
		for _, b := range w.batches {
			if p < len(b.parts) {
				recs = append(recs, b.parts[p].Records...)
			}
		}
		w.out.Partitions[p].Records = recs
	}
	w.out.Time, w.out.Interval, w.out.More = t, slide, false
	return out.Emit(&w.out)
}
