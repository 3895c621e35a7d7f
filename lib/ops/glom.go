package ops

import (
	"context"
	"fmt"

	"dstream/lib/frame"
	"dstream/lib/stage"
	"dstream/lib/text"
)

// Glom is Spark's DStream.glom.
var Glom = &stage.Spec{
	Name:  "glom",
	Usage: "turn every partition into one record: a JSON array of its elements",
	Description: `glom gives, for every partition of every batch, one unkeyed record: a JSON
array of the partition's elements in order, [e1,e2,...]. An element that is
valid JSON (a number, array, object, true, false, null) is embedded as is,
anything else becomes a JSON string; a keyed record's element is the pair
[KEY,VALUE]. The output batch has the input's time, interval and number of
partitions, one record in each; an empty partition gives [], as Spark's
glom gives an empty array.

Example:
   produce --partitions 2 --queue a.txt | glom | sink`,
	Kind: stage.KindOperator,
	New:  func(*stage.Context) (any, error) { return &glom{}, nil },
}

type glom struct {
	arrays [][]byte // the arrays so far, one per partition, without the ]
	open   bool     // a batch is coming in chunks
	recs   []frame.Record
	out    frame.Batch
}

func (g *glom) Process(_ context.Context, b *frame.Batch, out stage.Emitter) error {
	if !g.open {
		n := len(b.Partitions)
		if n > cap(g.arrays) {
			g.arrays = append(g.arrays[:cap(g.arrays)], make([][]byte, n-cap(g.arrays))...)
		}
		g.arrays = g.arrays[:n]
		for i := range g.arrays {
			g.arrays[i] = append(g.arrays[i][:0], '[')
		}
	} else if len(b.Partitions) != len(g.arrays) {
		return fmt.Errorf("batch %d: a chunk of %d partitions after chunks of %d (the upstream stage broke the chunk protocol)", b.Time, len(b.Partitions), len(g.arrays))
	}
	for i, p := range b.Partitions {
		a := g.arrays[i]
		for _, r := range p.Records {
			if len(a) > 1 {
				a = append(a, ',')
			}
			a = appendElementJSON(a, &r)
		}
		g.arrays[i] = a
	}
	g.open = b.More
	if b.More {
		return nil
	}
	g.recs = g.recs[:0]
	for i := range g.arrays {
		g.arrays[i] = append(g.arrays[i], ']')
		g.recs = append(g.recs, frame.Record{Value: g.arrays[i]})
	}
	g.out = frame.Batch{Time: b.Time, Interval: b.Interval, Partitions: make([]frame.Partition, len(g.recs))}
	for i := range g.recs {
		g.out.Partitions[i].Records = g.recs[i : i+1]
	}
	return out.Emit(&g.out)
}

// appendElementJSON appends a record as an element of a JSON array: its
// value, or [KEY,VALUE] when keyed, by text.AppendJSON's rules.
func appendElementJSON(dst []byte, r *frame.Record) []byte {
	if !r.Keyed {
		return text.AppendJSON(dst, r.Value)
	}
	dst = append(dst, '[')
	dst = text.AppendJSON(dst, r.Key)
	dst = append(dst, ',')
	dst = text.AppendJSON(dst, r.Value)
	return append(dst, ']')
}
