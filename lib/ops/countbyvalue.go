package ops

import (
	"context"
	"encoding/binary"
	"strconv"

	"dstream/lib/frame"
	"dstream/lib/stage"

	"github.com/urfave/cli/v2"
)

// CountByValue is Spark's DStream.countByValue.
var CountByValue = &stage.Spec{
	Name:  "countbyvalue",
	Usage: "count the distinct records of every batch",
	Description: `countbyvalue gives, for every batch, one keyed record per distinct element:
ELEMENT<TAB>COUNT. An unkeyed record's element is its value; a keyed
record's element is the pair, as in Spark, whose countByValue counts equal
elements of a pair stream as equal pairs: the pair is written KEY<TAB>VALUE,
so the output line is KEY<TAB>VALUE<TAB>COUNT.

The output batch has the input's time and interval and --partitions
partitions: an element goes to partition FNV-1a(element) mod N, and elements
appear in the order of their first record in the batch (Spark's order,
hash-partition order, is not reproducible; this one is). An empty batch
gives an empty batch.

--parallelism N (default 0: GOMAXPROCS) counts a chunk's partitions on up
to N goroutines, each into its own table, then merges the tables in
partition order: the output is the same whatever N.

Example:
   produce --queue words.txt | countbyvalue | sink`,
	Flags: append([]cli.Flag{parallelismFlag}, keyedFlags()...),
	Kind:  stage.KindOperator,
	New:   newCountByValue,
}

type countByValue struct {
	out  keyedOutput
	par  int            // --parallelism
	part []*valueCounts // per partition of a chunk counted in parallel
}

// valueCounts is one partition's elements and counts, counted in parallel
// with the other partitions' and merged in partition order.
type valueCounts struct {
	keys   keyTable
	counts []int64
	elem   []byte
}

// add counts the elements of recs.
func (c *valueCounts) add(recs []frame.Record) {
	for k := range recs {
		c.elem = element(c.elem[:0], &recs[k])
		i, isNew := c.keys.lookup(c.elem)
		if isNew {
			c.counts = append(c.counts[:i], 0)
		}
		c.counts[i]++
	}
}

func newCountByValue(c *stage.Context) (any, error) {
	parts, err := partitionsFlag(c)
	if err != nil {
		return nil, err
	}
	par, err := parallelismArg(c)
	if err != nil {
		return nil, err
	}
	return &countByValue{out: keyedOutput{parts: parts}, par: par, part: []*valueCounts{{}}}, nil
}

// element encodes a record as a table key that tells an unkeyed "a<TAB>b"
// from the pair (a, b), and the pair ("a<TAB>b", c) from (a, "b<TAB>c"):
// 0 VALUE, or 1 uvarint(len(KEY)) KEY VALUE.
func element(dst []byte, r *frame.Record) []byte {
	if !r.Keyed {
		return append(append(dst, 0), r.Value...)
	}
	dst = append(dst, 1)
	dst = binary.AppendUvarint(dst, uint64(len(r.Key)))
	return append(append(dst, r.Key...), r.Value...)
}

// appendElement appends an encoded element's text: VALUE or KEY<TAB>VALUE.
func appendElement(dst []byte, e string) []byte {
	if e[0] == 0 {
		return append(dst, e[1:]...)
	}
	n, w := binary.Uvarint([]byte(e[1:min(len(e), 11)]))
	k := e[1+w : 1+w+int(n)]
	dst = append(append(dst, k...), '\t')
	return append(dst, e[1+w+int(n):]...)
}

func (c *countByValue) Process(_ context.Context, b *frame.Batch, out stage.Emitter) error {
	// The batch's table is part[0]; in parallel, the other partitions are
	// counted into their own tables and merged into it in order.
	all := c.part[0]
	n := len(b.Partitions)
	if c.par > 1 && n > 1 && b.Len() >= parallelMinRecords {
		for len(c.part) < n+1 {
			c.part = append(c.part, &valueCounts{})
		}
		inParallel(min(c.par, n), n, func(_, pi int) error {
			t := c.part[pi+1]
			t.keys.reset()
			t.counts = t.counts[:0]
			t.add(b.Partitions[pi].Records)
			return nil
		})
		for _, t := range c.part[1 : n+1] {
			for j, e := range t.keys.keys {
				i, isNew := all.keys.lookupString(e)
				if isNew {
					all.counts = append(all.counts[:i], 0)
				}
				all.counts[i] += t.counts[j]
			}
		}
	} else {
		for _, p := range b.Partitions {
			all.add(p.Records)
		}
	}
	if b.More {
		return nil
	}
	err := c.out.emit(out, b.Time, b.Interval, all.keys.len(),
		func(dst []byte, i int) []byte { return appendElement(dst, all.keys.keys[i]) },
		func(dst []byte, i int) []byte { return strconv.AppendInt(dst, all.counts[i], 10) })
	all.keys.reset()
	return err
}
