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

--parallelism N (default 0: GOMAXPROCS) reduces a chunk's partitions on up
to N goroutines, then merges the results in partition order: the output is
the same whatever N (--expr reduces on one).

Example:
   produce --batch 1s --queue a.txt b.txt | reduce sum | sink --with-time`,
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "sep", Value: ",", Usage: "concat's separator `SEP`"},
		&cli.StringFlag{Name: "expr", Usage: "reduce with expression `EXPR` over a and b (a + b) instead of FN"},
		parallelismFlag,
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
	par  int       // --parallelism
	part []reduced // per partition of a chunk reduced in parallel
}

// reduced is one partition's accumulator, reduced in parallel with the
// other partitions' and merged in partition order.
type reduced struct {
	acc Acc
	bad int // the record that failed
	err error
}

func newReduce(c *stage.Context) (any, error) {
	red, ex, err := reducerArgs(c)
	if err != nil {
		return nil, err
	}
	par, err := parallelismArg(c)
	if err != nil {
		return nil, err
	}
	return &reduce{red: red, ex: ex, par: par}, nil
}

// parallel reduces the chunk's partitions on several goroutines and merges
// them, in partition order, into r.acc.
func (r *reduce) parallel(b *frame.Batch) error {
	n := len(b.Partitions)
	if len(r.part) < n {
		r.part = make([]reduced, n)
	}
	inParallel(min(r.par, n), n, func(_, pi int) error {
		t := &r.part[pi]
		t.acc.Reset()
		t.err = nil
		for k := range b.Partitions[pi].Records {
			if err := r.red.Add(&t.acc, b.Partitions[pi].Records[k].Value); err != nil {
				t.bad, t.err = k, r.red.valueError(err)
				return t.err
			}
		}
		return nil
	})
	for pi := range n {
		t := &r.part[pi]
		if t.err != nil {
			return fmt.Errorf("batch %d: record %d: %w", b.Time, r.seen+t.bad, t.err)
		}
		r.red.Merge(&r.acc, &t.acc)
		r.seen += len(b.Partitions[pi].Records)
	}
	return nil
}

func (r *reduce) Process(_ context.Context, b *frame.Batch, out stage.Emitter) error {
	if r.ex == nil && r.par > 1 && len(b.Partitions) > 1 && b.Len() >= parallelMinRecords {
		if err := r.parallel(b); err != nil {
			return err
		}
	} else {
		if err := r.sequential(b); err != nil {
			return err
		}
	}
	return r.end(b, out)
}

func (r *reduce) sequential(b *frame.Batch) error {
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
	return nil
}

// end emits the batch's result after its last chunk.
func (r *reduce) end(b *frame.Batch, out stage.Emitter) error {
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
