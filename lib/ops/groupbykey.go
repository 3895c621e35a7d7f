package ops

import (
	"context"

	"dstream/lib/frame"
	"dstream/lib/stage"
	"dstream/lib/text"
)

// GroupByKey is Spark's PairDStreamFunctions.groupByKey.
var GroupByKey = &stage.Spec{
	Name:  "groupbykey",
	Usage: "group the values of each key in every batch",
	Description: `groupbykey gives, for every batch, one record per key: KEY<TAB>[v1,v2,...],
a JSON array of the key's values in input order. A value that is valid JSON
(a number, array, object, true, false, null) is embedded as is, anything
else becomes a JSON string.

Records must be keyed (use keyby or produce --keyed first). The output
batch has the input's time and interval and --partitions partitions: a key
goes to partition FNV-1a(key) mod N, and keys appear in the order of their
first record in the batch (Spark's order, hash-partition order, is not
reproducible; this one is). An empty batch gives an empty batch.

Example:
   produce --keyed --queue a.txt | groupbykey | sink`,
	Flags: keyedFlags(),
	Kind:  stage.KindOperator,
	New:   newGroupByKey,
}

// groupByKey keeps every value, already as JSON, in one buffer; each key
// has a list of its values threaded through items, so a batch of many keys
// costs no allocation per key or value.
type groupByKey struct {
	keys  keyTable
	first []int32 // per key: its first item
	last  []int32 // per key: its last item
	items []gbkItem
	vals  []byte
	seen  int
	out   keyedOutput
}

type gbkItem struct {
	end  int   // end of the value's JSON in vals; it starts at the previous item's end
	next int32 // the key's next item, -1 at the end
}

func newGroupByKey(c *stage.Context) (any, error) {
	parts, err := partitionsFlag(c)
	if err != nil {
		return nil, err
	}
	return &groupByKey{out: keyedOutput{parts: parts}}, nil
}

func (g *groupByKey) Process(_ context.Context, b *frame.Batch, out stage.Emitter) error {
	for _, p := range b.Partitions {
		for _, rec := range p.Records {
			if !rec.Keyed {
				return noKeyError("groupbykey", b.Time, g.seen)
			}
			g.seen++
			g.vals = text.AppendJSON(g.vals, rec.Value)
			it := int32(len(g.items))
			g.items = append(g.items, gbkItem{end: len(g.vals), next: -1})
			i, isNew := g.keys.lookup(rec.Key)
			if isNew {
				g.first = append(g.first[:i], it)
				g.last = append(g.last[:i], it)
				continue
			}
			g.items[g.last[i]].next = it
			g.last[i] = it
		}
	}
	if b.More {
		return nil
	}
	err := g.out.emit(out, b.Time, b.Interval, g.keys.len(), g.keys.appendKey, g.appendGroup)
	g.keys.reset()
	g.items, g.vals, g.seen = g.items[:0], g.vals[:0], 0
	return err
}

// appendGroup appends key i's values as a JSON array.
func (g *groupByKey) appendGroup(dst []byte, i int) []byte {
	dst = append(dst, '[')
	for it := g.first[i]; it >= 0; it = g.items[it].next {
		start := 0
		if it > 0 {
			start = g.items[it-1].end
		}
		if it != g.first[i] {
			dst = append(dst, ',')
		}
		dst = append(dst, g.vals[start:g.items[it].end]...)
	}
	return append(dst, ']')
}
