package ops

import (
	"context"

	"dstream/lib/frame"
	"dstream/lib/stage"
	"dstream/lib/text"

	"github.com/urfave/cli/v2"
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

--parallelism N (default 0: GOMAXPROCS) groups a chunk's partitions on up
to N goroutines, then merges the groups in partition order: the output is
the same whatever N.

Example:
   produce --keyed --queue a.txt | groupbykey | sink`,
	Flags: append([]cli.Flag{parallelismFlag}, keyedFlags()...),
	Kind:  stage.KindOperator,
	New:   newGroupByKey,
}

// groupByKey keeps every value, already as JSON, in one buffer; each key
// has a list of its values threaded through items, so a batch of many keys
// costs no allocation per key or value.
type groupByKey struct {
	all  groups // the batch's groups
	seen int
	out  keyedOutput
	par  int       // --parallelism
	part []*groups // per partition of a chunk grouped in parallel
}

// groups holds the values of each key, as JSON, in input order.
type groups struct {
	keys  keyTable
	first []int32 // per key: its first item
	last  []int32 // per key: its last item
	items []gbkItem
	vals  []byte
	bad   int // the record without a key, when grouping in parallel
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
	par, err := parallelismArg(c)
	if err != nil {
		return nil, err
	}
	return &groupByKey{out: keyedOutput{parts: parts}, par: par}, nil
}

// add appends a value to the group of a key, given as bytes or, when
// keyBytes is nil, as a string. The value is text made JSON, or JSON
// already (isJSON).
func (g *groups) add(key string, keyBytes []byte, value []byte, isJSON bool) {
	if isJSON {
		g.vals = append(g.vals, value...)
	} else {
		g.vals = text.AppendJSON(g.vals, value)
	}
	it := int32(len(g.items))
	g.items = append(g.items, gbkItem{end: len(g.vals), next: -1})
	var i int
	var isNew bool
	if keyBytes == nil {
		i, isNew = g.keys.lookupString(key)
	} else {
		i, isNew = g.keys.lookup(keyBytes)
	}
	if isNew {
		g.first = append(g.first[:i], it)
		g.last = append(g.last[:i], it)
		return
	}
	g.items[g.last[i]].next = it
	g.last[i] = it
}

// value returns item it's JSON.
func (g *groups) value(it int32) []byte {
	start := 0
	if it > 0 {
		start = g.items[it-1].end
	}
	return g.vals[start:g.items[it].end]
}

func (g *groups) reset() {
	g.keys.reset()
	g.items, g.vals = g.items[:0], g.vals[:0]
}

// group adds the records' values; it returns the index of the first
// unkeyed record, or -1.
func (g *groups) group(recs []frame.Record) int {
	for k := range recs {
		rec := &recs[k]
		if !rec.Keyed {
			return k
		}
		key := rec.Key
		if key == nil {
			key = []byte{} // keyed, with an empty key
		}
		g.add("", key, rec.Value, false)
	}
	return -1
}

func (g *groupByKey) Process(_ context.Context, b *frame.Batch, out stage.Emitter) error {
	n := len(b.Partitions)
	if g.par > 1 && n > 1 && b.Len() >= parallelMinRecords {
		// Each partition into groups of its own, on several goroutines;
		// merged in partition order, so keys and values keep input order.
		for len(g.part) < n {
			g.part = append(g.part, &groups{})
		}
		inParallel(min(g.par, n), n, func(_, pi int) error {
			t := g.part[pi]
			t.reset()
			if t.bad = t.group(b.Partitions[pi].Records); t.bad >= 0 {
				return errNoKey
			}
			return nil
		})
		for pi, t := range g.part[:n] {
			if t.bad >= 0 {
				return noKeyError("groupbykey", b.Time, g.seen+t.bad)
			}
			for j, key := range t.keys.keys {
				for it := t.first[j]; it >= 0; it = t.items[it].next {
					g.all.add(key, nil, t.value(it), true)
				}
			}
			g.seen += len(b.Partitions[pi].Records)
		}
	} else {
		for _, p := range b.Partitions {
			if bad := g.all.group(p.Records); bad >= 0 {
				return noKeyError("groupbykey", b.Time, g.seen+bad)
			}
			g.seen += len(p.Records)
		}
	}
	if b.More {
		return nil
	}
	all := &g.all
	err := g.out.emit(out, b.Time, b.Interval, all.keys.len(), all.keys.appendKey, all.appendGroup)
	all.reset()
	g.seen = 0
	return err
}

func (g *groups) appendGroup(dst []byte, i int) []byte {
	dst = append(dst, '[')
	for it := g.first[i]; it >= 0; it = g.items[it].next {
		if it != g.first[i] {
			dst = append(dst, ',')
		}
		dst = append(dst, g.value(it)...)
	}
	return append(dst, ']')
}
