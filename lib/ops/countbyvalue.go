package ops

import (
	"context"
	"encoding/binary"
	"strconv"

	"dstream/lib/frame"
	"dstream/lib/stage"
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

Example:
   produce --queue words.txt | countbyvalue | sink`,
	Flags: keyedFlags(),
	Kind:  stage.KindOperator,
	New:   newCountByValue,
}

type countByValue struct {
	keys   keyTable // elements, encoded by element
	counts []int64
	elem   []byte
	out    keyedOutput
}

func newCountByValue(c *stage.Context) (any, error) {
	parts, err := partitionsFlag(c)
	if err != nil {
		return nil, err
	}
	return &countByValue{out: keyedOutput{parts: parts}}, nil
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
	for _, p := range b.Partitions {
		for k := range p.Records {
			c.elem = element(c.elem[:0], &p.Records[k])
			i, isNew := c.keys.lookup(c.elem)
			if isNew {
				c.counts = append(c.counts[:i], 0)
			}
			c.counts[i]++
		}
	}
	if b.More {
		return nil
	}
	err := c.out.emit(out, b.Time, b.Interval, c.keys.len(),
		func(dst []byte, i int) []byte { return appendElement(dst, c.keys.keys[i]) },
		func(dst []byte, i int) []byte { return strconv.AppendInt(dst, c.counts[i], 10) })
	c.keys.reset()
	return err
}
