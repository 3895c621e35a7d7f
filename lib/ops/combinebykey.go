package ops

import (
	"context"
	"fmt"
	"iter"
	"strings"

	"dstream/lib/expr"
	"dstream/lib/frame"
	"dstream/lib/stage"

	"github.com/urfave/cli/v2"
)

// CombineByKey is Spark's PairDStreamFunctions.combineByKey.
var CombineByKey = &stage.Spec{
	Name:  "combinebykey",
	Usage: "combine the values of each key in every batch with three expressions",
	Description: `combinebykey gives, for every batch, one record per key: KEY<TAB>COMBINER,
computed as Spark's combineByKey computes it, with expressions:
  --create EXPR            the combiner of a key's first value in a partition,
                           over value
  --merge-value EXPR       the combiner after one more value of that partition,
                           over a (the combiner) and value
  --merge-combiners EXPR   two partitions' combiners as one, over a and b
value is the record's text (decoded JSON when it is an array or object), so
int(value), num(value) and split(value, ",") work. Combiners keep their
expression types between calls (a list stays a list) and become text only
at output: a string as is, a number in decimal, a list or map as JSON.
Partitions are combined in partition order, the first partition's
combiner as a. --parallelism N (default 0: GOMAXPROCS) combines a batch's
partitions on up to N goroutines, each with its own copies of the
expressions: partitions meet only in --merge-combiners, so the output is
the same whatever N.

Records must be keyed (use keyby or produce --keyed first). The output
batch has the input's time and interval and --partitions partitions: a key
goes to partition FNV-1a(key) mod N, and keys appear in the order of their
first record in the batch (Spark's order, hash-partition order, is not
reproducible; this one is). An empty batch gives an empty batch.

Example (the average of each key's values, as [sum,count]):
   produce --keyed --queue a.txt \
     | combinebykey --create '[num(value), 1]' --merge-value '[a[0] + num(value), a[1] + 1]' \
         --merge-combiners '[a[0] + b[0], a[1] + b[1]]' | sink`,
	Flags: append([]cli.Flag{
		&cli.StringFlag{Name: "create", Usage: "combiner of a first value: `EXPR` over value"},
		&cli.StringFlag{Name: "merge-value", Usage: "combiner and one more value: `EXPR` over a and value"},
		&cli.StringFlag{Name: "merge-combiners", Usage: "two combiners: `EXPR` over a and b"},
		parallelismFlag,
	}, keyedFlags()...),
	Kind: stage.KindOperator,
	New:  newCombineByKey,
}

type combineByKey struct {
	create, mergeValue, mergeComb *expr.Program
	keys                          keyTable
	combs                         [][]partCombiner // per key, in partition order
	seen                          int
	buf                           []byte
	ends                          []int
	out                           keyedOutput

	par      int          // --parallelism
	open     bool         // a batch is coming in chunks
	parallel bool         // this batch is combined partition by partition, in parallel
	nparts   int          // this batch's partitions
	tables   []*combTable // per partition, for a batch combined in parallel
	progs    []combProgs  // per goroutine, its copies of --create and --merge-value
}

// combTable is one partition's combiners, kept across the chunks of a
// batch combined in parallel: partitions never meet before
// --merge-combiners, so each is combined on its own, as one after another.
type combTable struct {
	keys  keyTable
	combs []any
	from  int // the keys before this chunk's
	bad   int // the record that failed
	err   error
}

type combProgs struct{ create, mergeValue *expr.Program }

// partCombiner is a key's combiner in one input partition.
type partCombiner struct {
	part int
	c    any
}

func newCombineByKey(c *stage.Context) (any, error) {
	parts, err := partitionsFlag(c)
	if err != nil {
		return nil, err
	}
	var missing []string
	for _, f := range []string{"create", "merge-value", "merge-combiners"} {
		if c.String(f) == "" {
			missing = append(missing, "--"+f)
		}
	}
	if len(missing) > 0 {
		return nil, stage.Usagef("want --create, --merge-value and --merge-combiners, missing %s (see 'combinebykey --help')", strings.Join(missing, ", "))
	}
	cb := &combineByKey{out: keyedOutput{parts: parts}}
	if cb.par, err = parallelismArg(c); err != nil {
		return nil, err
	}
	for _, p := range []struct {
		flag string
		prog **expr.Program
		vars []string
	}{
		{"create", &cb.create, []string{"value"}},
		{"merge-value", &cb.mergeValue, []string{"a", "value"}},
		{"merge-combiners", &cb.mergeComb, []string{"a", "b"}},
	} {
		if *p.prog, err = expr.Compile(c.String(p.flag), p.vars...); err != nil {
			return nil, stage.Usagef("--%s: %v", p.flag, err)
		}
	}
	return cb, nil
}

func (cb *combineByKey) Process(_ context.Context, b *frame.Batch, out stage.Emitter) error {
	if !cb.open {
		// The mode is chosen per batch: its chunks share their combiners.
		cb.nparts = len(b.Partitions)
		cb.parallel = cb.par > 1 && cb.nparts > 1
	}
	cb.open = b.More
	if cb.parallel {
		if err := cb.combineParallel(b); err != nil {
			return err
		}
	} else {
		for part, p := range b.Partitions {
			for _, rec := range p.Records {
				if !rec.Keyed {
					return noKeyError("combinebykey", b.Time, cb.seen)
				}
				if err := cb.add(part, &rec); err != nil {
					return fmt.Errorf("batch %d: record %d (key %q): %w", b.Time, cb.seen, rec.Key, err)
				}
				cb.seen++
			}
		}
	}
	if b.More {
		return nil
	}
	defer cb.reset()
	cb.buf, cb.ends = cb.buf[:0], cb.ends[:0]
	for i, key := range cb.keys.keys {
		var c any
		first := true
		for pc := range cb.partCombiners(i, key) {
			if first {
				c, first = pc, false
				continue
			}
			cb.mergeComb.Set("a", c)
			cb.mergeComb.Set("b", pc)
			var err error
			if c, err = cb.mergeComb.Run(); err != nil {
				return fmt.Errorf("batch %d: key %q: --merge-combiners %s: %w", b.Time, cb.keys.keys[i], cb.mergeComb.Source(), err)
			}
		}
		var err error
		if cb.buf, err = expr.AppendText(cb.buf, c); err != nil {
			return fmt.Errorf("batch %d: key %q: the combiner: %w", b.Time, cb.keys.keys[i], err)
		}
		cb.ends = append(cb.ends, len(cb.buf))
	}
	return cb.out.emit(out, b.Time, b.Interval, cb.keys.len(), cb.keys.appendKey, func(dst []byte, i int) []byte {
		start := 0
		if i > 0 {
			start = cb.ends[i-1]
		}
		return append(dst, cb.buf[start:cb.ends[i]]...)
	})
}

// add folds one record of input partition part into its key's combiner.
// partCombiners returns key i's combiners, in partition order.
func (cb *combineByKey) partCombiners(i int, key string) iter.Seq[any] {
	return func(yield func(any) bool) {
		if !cb.parallel {
			for _, pc := range cb.combs[i] {
				if !yield(pc.c) {
					return
				}
			}
			return
		}
		for _, t := range cb.tables[:cb.nparts] {
			if j, ok := t.keys.idx[key]; ok && !yield(t.combs[j]) {
				return
			}
		}
	}
}

// combineParallel combines each partition of the chunk into its own table,
// on several goroutines, and adds the chunk's new keys to the batch's keys
// in the order of their first record.
func (cb *combineByKey) combineParallel(b *frame.Batch) error {
	n := len(b.Partitions)
	for len(cb.tables) < n {
		cb.tables = append(cb.tables, &combTable{})
	}
	workers := min(cb.par, n)
	for len(cb.progs) < workers {
		cb.progs = append(cb.progs, combProgs{cb.create.Clone(), cb.mergeValue.Clone()})
	}
	inParallel(workers, n, func(w, pi int) error {
		t, pr := cb.tables[pi], cb.progs[w]
		t.from, t.err = t.keys.len(), nil
		for k := range b.Partitions[pi].Records {
			rec := &b.Partitions[pi].Records[k]
			if !rec.Keyed {
				t.bad, t.err = k, errNoKey
				return t.err
			}
			i, isNew := t.keys.lookup(rec.Key)
			v := expr.Value(rec.Value)
			if isNew {
				pr.create.Set("value", v)
				c, err := pr.create.Run()
				if err != nil {
					t.bad, t.err = k, fmt.Errorf("--create %s: %w", pr.create.Source(), err)
					return t.err
				}
				t.combs = append(t.combs[:i], c)
				continue
			}
			pr.mergeValue.Set("a", t.combs[i])
			pr.mergeValue.Set("value", v)
			c, err := pr.mergeValue.Run()
			if err != nil {
				t.bad, t.err = k, fmt.Errorf("--merge-value %s: %w", pr.mergeValue.Source(), err)
				return t.err
			}
			t.combs[i] = c
		}
		return nil
	})
	for pi, t := range cb.tables[:n] {
		if t.err != nil {
			return partitionError("combinebykey", b, cb.seen, pi, t.bad, t.err)
		}
		for _, key := range t.keys.keys[t.from:] {
			cb.keys.lookupString(key)
		}
		cb.seen += len(b.Partitions[pi].Records)
	}
	return nil
}

func (cb *combineByKey) add(part int, rec *frame.Record) error {
	i, isNew := cb.keys.lookup(rec.Key)
	if isNew {
		cb.combs = append(cb.combs[:i], nil)
	}
	pcs := cb.combs[i]
	// Partitions of a chunked batch interleave: find this one's combiner,
	// most often the last.
	j := len(pcs) - 1
	for j >= 0 && pcs[j].part > part {
		j--
	}
	v := expr.Value(rec.Value)
	if j >= 0 && pcs[j].part == part {
		cb.mergeValue.Set("a", pcs[j].c)
		cb.mergeValue.Set("value", v)
		c, err := cb.mergeValue.Run()
		if err != nil {
			return fmt.Errorf("--merge-value %s: %w", cb.mergeValue.Source(), err)
		}
		pcs[j].c = c
		return nil
	}
	cb.create.Set("value", v)
	c, err := cb.create.Run()
	if err != nil {
		return fmt.Errorf("--create %s: %w", cb.create.Source(), err)
	}
	pcs = append(pcs, partCombiner{})
	copy(pcs[j+2:], pcs[j+1:])
	pcs[j+1] = partCombiner{part: part, c: c}
	cb.combs[i] = pcs
	return nil
}

func (cb *combineByKey) reset() {
	cb.keys.reset()
	clear(cb.combs)
	cb.combs = cb.combs[:0]
	for _, t := range cb.tables {
		t.keys.reset()
		clear(t.combs)
		t.combs = t.combs[:0]
	}
	cb.seen = 0
}
