package ops

import (
	"context"
	"fmt"

	"dstream/lib/frame"
	"dstream/lib/stage"

	"github.com/urfave/cli/v2"
)

// Reduce is Spark's DStream.reduce.
var Reduce = &stage.Spec{
	Name:      "reduce",
	Usage:     "reduce the values of every batch to one",
	ArgsUsage: "[FN]",
	Description: `reduce FN gives, for every non-empty batch, one unkeyed record: the batch's
values reduced with FN, one of
  sum     exact decimal sum (94.65 + 2.49 = 97.14; 10.5 + 9.5 = 20)
  min     smallest number        max    largest number
  count   number of values       concat values joined with --sep (default ",")
  first   first value            last   last value (in input order)
sum, min and max read values as decimal numbers (12, -3.25, 1e3) and print
the result in canonical form: no trailing fractional zeros, no decimal
point for an integer. --expr EXPR reduces with an expression over a and b
instead (a + b); a and b are numbers when the text is a number, decoded
JSON for an array or object, else text.

Keys are ignored: keyed records reduce by their values. An empty batch
gives an empty batch (Spark's reduce has no value to give). The output
batch has the input's time and interval and one partition.

Example:
   produce --batch 1s --queue a.txt b.txt | reduce sum | sink --with-time`,
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "sep", Value: ",", Usage: "concat's separator `SEP`"},
		&cli.StringFlag{Name: "expr", Usage: "reduce with expression `EXPR` over a and b (a + b) instead of FN"},
	},
	MinArgs: 0, MaxArgs: 1,
	Kind: stage.KindOperator,
	New:  newReduce,
}

type reduce struct {
	red  *Reducer
	ex   *exprReducer
	acc  Acc
	seen int
	buf  []byte
	rec  [1]frame.Record
	out  frame.Batch
}

func newReduce(c *stage.Context) (any, error) {
	red, ex, err := reducerArgs(c)
	if err != nil {
		return nil, err
	}
	return &reduce{red: red, ex: ex}, nil
}

func (r *reduce) Process(_ context.Context, b *frame.Batch, out stage.Emitter) error {
	for _, p := range b.Partitions {
		for _, rec := range p.Records {
			var err error
			if r.ex != nil {
				err = r.ex.add(0, r.seen == 0, rec.Value)
			} else if err = r.red.Add(&r.acc, rec.Value); err != nil {
				err = r.red.valueError(err)
			}
			if err != nil {
				return fmt.Errorf("batch %d: record %d: %w", b.Time, r.seen, err)
			}
			r.seen++
		}
	}
	if b.More {
		return nil
	}
	n := r.seen
	r.seen = 0
	r.out = frame.Batch{Time: b.Time, Interval: b.Interval, Partitions: []frame.Partition{{}}}
	if n == 0 {
		return out.Emit(&r.out)
	}
	if r.ex != nil {
		_, err := r.ex.finish()
		r.ex.reset()
		if err != nil {
			return fmt.Errorf("batch %d: %w", b.Time, err)
		}
		r.buf = r.ex.appendResult(r.buf[:0], 0)
	} else {
		r.buf = r.red.Append(r.buf[:0], &r.acc)
		r.acc.Reset()
	}
	r.rec[0] = frame.Record{Value: r.buf}
	r.out.Partitions[0].Records = r.rec[:]
	return out.Emit(&r.out)
}
