package ops

import (
	"context"
	"errors"
	"fmt"

	"dstream/lib/frame"
	"dstream/lib/stage"

	"github.com/urfave/cli/v2"
)

// ReduceByKey is Spark's PairDStreamFunctions.reduceByKey.
var ReduceByKey = &stage.Spec{
	Name:      "reducebykey",
	Usage:     "reduce the values of each key in every batch",
	ArgsUsage: "[FN]",
	Description: `reducebykey FN gives, for every batch, one record per key: KEY<TAB>RESULT,
where RESULT reduces the values the key has in the batch with FN:
  sum     exact decimal sum (94.65 + 2.49 = 97.14; 10.5 + 9.5 = 20)
  min     smallest number        max    largest number
  count   number of values       concat values joined with --sep (default ",")
  first   first value            last   last value (in input order)
sum, min and max read values as decimal numbers (12, -3.25, 1e3) and print
the result in canonical form: no trailing fractional zeros, no decimal
point for an integer. A value that is not a number stops the stage with an
error naming the batch, record and key.
--expr EXPR reduces with an expression over a and b instead (a + b); a and
b are numbers when the text is a number, decoded JSON for an array or
object, else text; results keep their types between calls.

--parallelism N (default 0: GOMAXPROCS) reduces a chunk's partitions on up
to N goroutines, each into its own table, then merges the tables in
partition order: the output is the same whatever N (--expr reduces on one).

Records must be keyed (use keyby or produce --keyed first). The output
batch has the input's time and interval and --partitions partitions: a key
goes to partition FNV-1a(key) mod N (as repartition --by key), and keys
appear in the order of their first record in the batch (Spark's order,
the order of JVM hash codes, cannot be reproduced; this one is). An
empty batch gives an empty batch.

Example:
   produce --keyed --queue a.txt | reducebykey sum | sink`,
	Flags: append([]cli.Flag{
		&cli.StringFlag{Name: "sep", Value: ",", Usage: "concat's separator `SEP`"},
		&cli.StringFlag{Name: "expr", Usage: "reduce with expression `EXPR` over a and b (a + b) instead of FN"},
		parallelismFlag,
	}, keyedFlags()...),
	MinArgs: 0, MaxArgs: 1,
	Kind: stage.KindOperator,
	New:  newReduceByKey,
}

// keyedFlags are the flags of every keyed aggregation.
func keyedFlags() []cli.Flag {
	return []cli.Flag{
		&cli.IntFlag{Name: "partitions", Value: 1, Usage: "spread the output's keys over `N` partitions by FNV-1a hash"},
	}
}

// partitionsFlag reads --partitions.
func partitionsFlag(c *stage.Context) (int, error) {
	n := c.Int("partitions")
	if n < 1 {
		return 0, stage.Usagef("--partitions %d: want a whole number of 1 or more", n)
	}
	return n, nil
}

// keyTable numbers the keys of a batch in order of first appearance. A
// lookup of a known key does not allocate; a new key is copied once.
type keyTable struct {
	idx  map[string]int32
	keys []string
}

func (t *keyTable) lookup(k []byte) (i int, isNew bool) {
	if i, ok := t.idx[string(k)]; ok {
		return int(i), false
	}
	if t.idx == nil {
		t.idx = make(map[string]int32)
	}
	s := string(k)
	t.idx[s] = int32(len(t.keys))
	t.keys = append(t.keys, s)
	return len(t.keys) - 1, true
}

// lookupString is lookup for a key held as a string.
func (t *keyTable) lookupString(k string) (i int, isNew bool) {
	if i, ok := t.idx[k]; ok {
		return int(i), false
	}
	if t.idx == nil {
		t.idx = make(map[string]int32)
	}
	t.idx[k] = int32(len(t.keys))
	t.keys = append(t.keys, k)
	return len(t.keys) - 1, true
}

func (t *keyTable) len() int { return len(t.keys) }

// reset empties the table, keeping its memory for the next batch.
func (t *keyTable) reset() {
	clear(t.idx)
	clear(t.keys)
	t.keys = t.keys[:0]
}

// keyedOutput builds the output batch of a keyed aggregation.
type keyedOutput struct {
	parts int
	buf   []byte
	ends  []int // per record: end of its key in buf, then end of its value
	out   frame.Batch
}

// emit emits one keyed record per key 0..n-1, in that order, with key and
// value text appended by key and val, into partition FNV-1a(key) mod parts.
func (o *keyedOutput) emit(out stage.Emitter, t, interval int64, n int, key, val func(dst []byte, i int) []byte) error {
	o.buf, o.ends = o.buf[:0], o.ends[:0]
	for i := range n {
		o.buf = key(o.buf, i)
		o.ends = append(o.ends, len(o.buf))
		o.buf = val(o.buf, i)
		o.ends = append(o.ends, len(o.buf))
	}
	if len(o.out.Partitions) != o.parts {
		o.out.Partitions = make([]frame.Partition, o.parts)
	}
	parts := o.out.Partitions
	for i := range parts {
		clear(parts[i].Records)
		parts[i].Records = parts[i].Records[:0]
	}
	start := 0
	for i := range n {
		k := o.buf[start:o.ends[2*i]]
		v := o.buf[o.ends[2*i]:o.ends[2*i+1]]
		start = o.ends[2*i+1]
		p := 0
		if o.parts > 1 {
			p = int(fnv1a(k) % uint32(o.parts))
		}
		parts[p].Records = append(parts[p].Records, frame.Record{Key: k, Value: v, Keyed: true})
	}
	o.out.Time, o.out.Interval, o.out.More = t, interval, false
	return out.Emit(&o.out)
}

// appendKey appends key i of t.
func (t *keyTable) appendKey(dst []byte, i int) []byte { return append(dst, t.keys[i]...) }

// noKeyError is the error for an unkeyed record in a stage that needs keys.
func noKeyError(stageName string, t int64, rec int) error {
	return fmt.Errorf("batch %d: record %d has no key (%s wants keyed records; use keyby first)", t, rec, stageName)
}

type reduceByKey struct {
	red  *Reducer
	ex   *exprReducer // --expr, instead of red
	keys keyTable
	accs []Acc
	seen int // records of the batch so far, for error messages
	out  keyedOutput
	par  int             // --parallelism
	part []*partialTable // per partition of a chunk reduced in parallel
}

// partialTable is one partition's keys and accumulators, reduced in
// parallel with the other partitions' and then merged in partition order,
// so keys keep the order of their first record and values their input
// order.
type partialTable struct {
	keys keyTable
	accs []Acc
	bad  int   // the record that failed
	err  error // its error; errNoKey for an unkeyed record
}

var errNoKey = errors.New("no key")

// partitionError is the error of record bad of partition pi, reduced in
// parallel: as reducing one record after another would report it, with
// its number in the batch (first: the records before the partition).
func partitionError(stage string, b *frame.Batch, first, pi, bad int, err error) error {
	if err == errNoKey {
		return noKeyError(stage, b.Time, first+bad)
	}
	return fmt.Errorf("batch %d: record %d (key %q): %w", b.Time, first+bad, b.Partitions[pi].Records[bad].Key, err)
}

func newReduceByKey(c *stage.Context) (any, error) {
	parts, err := partitionsFlag(c)
	if err != nil {
		return nil, err
	}
	r := &reduceByKey{out: keyedOutput{parts: parts}}
	if r.par, err = parallelismArg(c); err != nil {
		return nil, err
	}
	r.red, r.ex, err = reducerArgs(c)
	if err != nil {
		return nil, err
	}
	return r, nil
}

// reducerArgs reads FN and --sep, or --expr, for reduce and reducebykey.
func reducerArgs(c *stage.Context) (*Reducer, *exprReducer, error) {
	name := c.Spec.Name
	src := c.String("expr")
	switch {
	case c.NArg() == 0 && src == "":
		return nil, nil, stage.Usagef("want a function (%s) or --expr, got neither (see '%s --help')", ReduceFnNames, name)
	case c.NArg() > 0 && src != "":
		return nil, nil, stage.Usagef("want a function or --expr, not both (see '%s --help')", name)
	case src != "":
		if c.IsSet("sep") {
			return nil, nil, stage.Usagef("--sep applies to concat only, not to --expr")
		}
		ex, err := newExprReducer(src)
		return nil, ex, err
	}
	red, err := newReducer(c.Args().First(), c.String("sep"), c.IsSet("sep"))
	return red, nil, err
}

func (r *reduceByKey) Process(_ context.Context, b *frame.Batch, out stage.Emitter) error {
	if r.ex == nil && r.par > 1 && len(b.Partitions) > 1 && b.Len() >= parallelMinRecords {
		if err := r.parallel(b); err != nil {
			return err
		}
		return r.end(b, out)
	}
	for _, p := range b.Partitions {
		for _, rec := range p.Records {
			if !rec.Keyed {
				return noKeyError("reducebykey", b.Time, r.seen)
			}
			i, isNew := r.keys.lookup(rec.Key)
			var err error
			if r.ex != nil {
				err = r.ex.add(i, isNew, rec.Value)
			} else {
				if isNew {
					r.accs = grow(r.accs, i)
				}
				if err = r.red.Add(&r.accs[i], rec.Value); err != nil {
					err = r.red.valueError(err)
				}
			}
			if err != nil {
				return fmt.Errorf("batch %d: record %d (key %q): %w", b.Time, r.seen, rec.Key, err)
			}
			r.seen++
		}
	}
	return r.end(b, out)
}

// parallel reduces the chunk's partitions on several goroutines and merges
// them in partition order.
func (r *reduceByKey) parallel(b *frame.Batch) error {
	n := len(b.Partitions)
	for len(r.part) < n {
		r.part = append(r.part, &partialTable{})
	}
	inParallel(min(r.par, n), n, func(_, pi int) error {
		t := r.part[pi]
		t.keys.reset()
		t.err = nil
		for k := range b.Partitions[pi].Records {
			rec := &b.Partitions[pi].Records[k]
			if !rec.Keyed {
				t.bad, t.err = k, errNoKey
				return t.err
			}
			i, isNew := t.keys.lookup(rec.Key)
			if isNew {
				t.accs = grow(t.accs, i)
			}
			if err := r.red.Add(&t.accs[i], rec.Value); err != nil {
				t.bad, t.err = k, r.red.valueError(err)
				return t.err
			}
		}
		return nil
	})
	for pi, t := range r.part[:n] {
		if t.err != nil {
			return partitionError("reducebykey", b, r.seen, pi, t.bad, t.err)
		}
		for j, key := range t.keys.keys {
			i, isNew := r.keys.lookupString(key)
			if isNew {
				r.accs = grow(r.accs, i)
			}
			r.red.Merge(&r.accs[i], &t.accs[j])
		}
		r.seen += len(b.Partitions[pi].Records)
	}
	return nil
}

// end emits the batch's result after its last chunk.
func (r *reduceByKey) end(b *frame.Batch, out stage.Emitter) error {
	if b.More {
		return nil
	}
	defer r.reset()
	val := func(dst []byte, i int) []byte { return r.red.Append(dst, &r.accs[i]) }
	if r.ex != nil {
		if bad, err := r.ex.finish(); err != nil {
			return fmt.Errorf("batch %d: key %q: %w", b.Time, r.keys.keys[bad], err)
		}
		val = r.ex.appendResult
	}
	return r.out.emit(out, b.Time, b.Interval, r.keys.len(), r.keys.appendKey, val)
}

func (r *reduceByKey) reset() {
	r.keys.reset()
	r.seen = 0
	if r.ex != nil {
		r.ex.reset()
	}
}

// grow makes accs[i] (i == len(accs)) an empty accumulator, reusing the
// memory of an earlier batch's.
func grow(accs []Acc, i int) []Acc {
	if i < cap(accs) {
		accs = accs[:i+1]
		accs[i].Reset()
		return accs
	}
	return append(accs, Acc{})
}
