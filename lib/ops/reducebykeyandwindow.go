package ops

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strconv"

	"dstream/lib/decimal"
	"dstream/lib/expr"
	"dstream/lib/frame"
	"dstream/lib/stage"
	"dstream/lib/text"

	"github.com/urfave/cli/v2"
)

// ReduceByKeyAndWindow is Spark's PairDStreamFunctions.reduceByKeyAndWindow.
var ReduceByKeyAndWindow = &stage.Spec{
	Name:      "reducebykeyandwindow",
	Usage:     "reduce the values of each key over a sliding window",
	ArgsUsage: "W[/S] [FN]",
	Description: `reducebykeyandwindow W/S FN gives, every S, one record per key that has
values in the input batches of the last W: KEY<TAB>RESULT, where RESULT
reduces those values with FN (as reducebykey does over one batch):
  sum     exact decimal sum          count  number of values
  min     smallest number            max    largest number
  concat  values joined with --sep   first, last  first or last value
--expr EXPR reduces with an expression over a and b instead (a + b).

` + windowArgUsage + `

sum and count are invertible: each slide adds the batches entering the
window and takes out the batches leaving it, so a slide costs what moved,
not what the window holds (Spark's reduceByKeyAndWindow with an inverse
function). A key with no value left in the window disappears: no zeros
linger (Spark's filterFunc). The other functions keep one partial result
per key and batch and merge those of the window's batches in time order:
Spark's reduceByKey(f).window(W, S).reduceByKey(f), which --expr must
suit (f associative).

Records must be keyed. Output keys come in the order they entered the
window's table (a key enters with its first record while it has none in
the window, and stays until its last value leaves), the same after a
restart from a checkpoint. --partitions N spreads them by FNV-1a(key) mod N.
An empty window gives an empty batch.

Example (word counts over the last minute, every 10 seconds):
   produce --batch 1s --keyed words.tsv \
     | reducebykeyandwindow --checkpoint ck 60s/10s count | sink --with-time`,
	Flags: append([]cli.Flag{
		&cli.StringFlag{Name: "sep", Value: ",", Usage: "concat's separator `SEP`"},
		&cli.StringFlag{Name: "expr", Usage: "reduce with expression `EXPR` over a and b (a + b) instead of FN"},
	}, keyedFlags()...),
	MinArgs: 1, MaxArgs: 2,
	Kind:     stage.KindOperator,
	Stateful: true,
	New: func(c *stage.Context) (any, error) {
		w, err := newWindower(c, nil)
		if err != nil {
			return nil, err
		}
		red, ex, err := windowReducerArgs(c)
		if err != nil {
			return nil, err
		}
		parts, err := partitionsFlag(c)
		if err != nil {
			return nil, err
		}
		k := newKeyedWindow(c.Spec.Name, keyFromRecord, red, ex)
		k.out.parts = parts
		w.c = k
		return w, nil
	},
}

// windowReducerArgs reads FN (the second argument) and --sep, or --expr,
// for the windowed reduces; the error is a usage error.
func windowReducerArgs(c *stage.Context) (*Reducer, *exprReducer, error) {
	name := c.Spec.Name
	src := c.String("expr")
	switch {
	case c.NArg() < 2 && src == "":
		return nil, nil, stage.Usagef("want a function (%s) or --expr after the window, got neither (see '%s --help')", ReduceFnNames, name)
	case c.NArg() == 2 && src != "":
		return nil, nil, stage.Usagef("want a function or --expr, not both (see '%s --help')", name)
	case src != "":
		if c.IsSet("sep") {
			return nil, nil, stage.Usagef("--sep applies to concat only, not to --expr")
		}
		ex, err := newExprReducer(src)
		return nil, ex, err
	}
	red, err := newReducer(c.Args().Get(1), c.String("sep"), c.IsSet("sep"))
	return red, nil, err
}

// keySource says what a keyed window groups records by.
type keySource int

const (
	keyFromRecord  keySource = iota // the record's key; unkeyed records are an error
	keyFromElement                  // the whole record (countbyvalueandwindow)
	keyNone                         // one group for all records (reducebywindow)
)

// keyedWindow is the windowContents of the stages that reduce a window by
// key (reducebykeyandwindow, countbyvalueandwindow, groupbykeyandwindow,
// reducebywindow).
//
// Keys are numbered in one table for the whole window; each held batch
// keeps one partial result per key it has (windowPartials), in compact
// columns next to its keys' numbers, not maps. A key is counted in refs by the
// held batches that have it and leaves the table with the last of them.
// With an invertible function the window's result per key is kept up to
// date (sums, counts): sealing a batch adds its partials, evicting one
// takes them out. Otherwise an output merges the partials of the window's
// batches, key by key, in time order.
type keyedWindow struct {
	name  string
	keys  keySource
	group bool // groupbykeyandwindow: values as JSON, results as arrays
	red   *Reducer
	ex    *exprReducer
	inv   bool // red's function is invertible

	// The key table. A number whose refs is -1 is free.
	idx   map[string]int32
	names []string
	refs  []int32  // held batches with a partial of the key
	stamp []uint32 // the entering batch (seq) that last saw the key
	pos   []int32  // the key's partial in the entering batch
	order []int32  // the key numbers in order of entry
	free  []int32
	seq   uint32
	in    bool // a batch is entering

	sums   []decimal.Dec // by key number, with sum
	counts []int64       // by key number, with count

	batches []*windowPartials // held, oldest first
	spare   *windowPartials

	// The entering batch: its keys in order of first record and one
	// accumulator per key (ex keeps its own); elem and jsonv are scratch
	// for a record's element and JSON value, and the single output value.
	curKeys []int32
	cur     []Acc
	elem    []byte
	jsonv   []byte

	// Output. merge gathers each key's result: first and last locate its
	// first and last partial (batch<<32 | index), or, for concat, its first
	// and last in the list next and locs hold; decs and anys are results.
	out         keyedOutput
	first, last []int64
	next        []int
	locs        []int64
	decs        []decimal.Dec
	anys        []any
	vals        []byte
	ends        []int
	one         frame.Batch
	onePart     [1]frame.Partition
	rec         [1]frame.Record
}

// windowPartials is one held batch's partial results, one per key it has, in
// the columns its function needs.
type windowPartials struct {
	time int64
	keys []int32 // key numbers, in order of first record
	n    []int64 // count
	// sum, min, max: mantissas and scales when they fit, else in big. The
	// scale column is used only when mixed; else every scale is scale0
	// (amounts usually share one scale: 2 bytes a partial saved).
	mant   []int64
	scale  []int16
	scale0 int16
	mixed  bool
	big    map[int32]decimal.Dec
	txt    []byte // concat, first, last, groups
	ends   []int  // end of partial j's text in txt
	ex     []any  // --expr
}

func newKeyedWindow(name string, keys keySource, red *Reducer, ex *exprReducer) *keyedWindow {
	return &keyedWindow{
		name: name, keys: keys, red: red, ex: ex,
		inv: red != nil && red.Fn.invertible(),
		idx: map[string]int32{},
	}
}

func (p *windowPartials) dec(j int) decimal.Dec {
	if d, ok := p.big[int32(j)]; ok {
		return d
	}
	if !p.mixed {
		return decimal.FromParts(p.mant[j], int32(p.scale0))
	}
	return decimal.FromParts(p.mant[j], int32(p.scale[j]))
}

func (p *windowPartials) appendDec(d decimal.Dec) {
	m, s, ok := d.Parts()
	if !ok || s != int32(int16(s)) {
		if p.big == nil {
			p.big = map[int32]decimal.Dec{}
		}
		p.big[int32(len(p.mant))] = d
		m, s = 0, int32(p.scale0) // keeps the column uniform
	}
	switch {
	case len(p.mant) == 0:
		p.scale0 = int16(s)
	case !p.mixed && int16(s) != p.scale0:
		// Mixed scales: a column after all (amounts usually share one).
		p.mixed = true
		p.scale = fitCap(p.scale, cap(p.mant))[:len(p.mant)]
		for i := range p.scale {
			p.scale[i] = p.scale0
		}
	}
	if p.mixed {
		p.scale = append(p.scale, int16(s))
	}
	p.mant = append(p.mant, m)
}

func (p *windowPartials) text(j int) []byte {
	start := 0
	if j > 0 {
		start = p.ends[j-1]
	}
	return p.txt[start:p.ends[j]]
}

func (p *windowPartials) reset() {
	p.keys, p.n, p.mant, p.scale, p.mixed = p.keys[:0], p.n[:0], p.mant[:0], p.scale[:0], false
	p.txt, p.ends, p.big = p.txt[:0], p.ends[:0], nil
	clear(p.ex)
	p.ex = p.ex[:0]
}

// fitCap returns s emptied, with room for n elements: a held batch's columns
// are allocated at their exact size, since the window keeps many.
func fitCap[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, 0, n)
	}
	return s[:0]
}

// lookup returns key's number, entering it in the table when new. A known
// key costs no allocation.
func (k *keyedWindow) lookup(key []byte) int32 {
	if i, ok := k.idx[string(key)]; ok {
		return i
	}
	s := string(key)
	var i int32
	if n := len(k.free); n > 0 {
		i = k.free[n-1]
		k.free = k.free[:n-1]
		k.names[i], k.refs[i], k.stamp[i] = s, 0, 0
	} else {
		i = int32(len(k.names))
		k.names = append(k.names, s)
		k.refs = append(k.refs, 0)
		k.stamp = append(k.stamp, 0)
		k.pos = append(k.pos, 0)
		if k.inv {
			k.sums = append(k.sums, decimal.Dec{})
			k.counts = append(k.counts, 0)
		}
	}
	k.idx[s] = i
	k.order = append(k.order, i)
	return i
}

// slot returns the position of key i's partial in the entering batch.
func (k *keyedWindow) slot(i int32) (j int, isNew bool) {
	if k.stamp[i] == k.seq {
		return int(k.pos[i]), false
	}
	k.stamp[i] = k.seq
	k.pos[i] = int32(len(k.curKeys))
	k.curKeys = append(k.curKeys, i)
	return len(k.curKeys) - 1, true
}

// newBatch starts the sequence number of an entering batch.
func (k *keyedWindow) newBatch() {
	k.in = true
	k.seq++
	if k.seq == 0 { // after 2^32 batches: no stale stamp may match
		clear(k.stamp)
		k.seq = 1
	}
}

func (k *keyedWindow) add(b *frame.Batch, seen int64) error {
	if !k.in {
		k.newBatch()
	}
	for p := range b.Partitions {
		recs := b.Partitions[p].Records
		for r := range recs {
			rec := &recs[r]
			var key []byte
			switch k.keys {
			case keyFromRecord:
				if !rec.Keyed {
					return noKeyError(k.name, b.Time, int(seen))
				}
				key = rec.Key
			case keyFromElement:
				k.elem = element(k.elem[:0], rec)
				key = k.elem
			}
			j, isNew := k.slot(k.lookup(key))
			v := rec.Value
			if k.group {
				k.jsonv = text.AppendJSON(k.jsonv[:0], v)
				v = k.jsonv
			}
			var err error
			if k.ex != nil {
				err = k.ex.add(j, isNew, v)
			} else {
				if isNew {
					k.cur = grow(k.cur, j)
				}
				if err = k.red.Add(&k.cur[j], v); err != nil {
					err = k.red.valueError(err)
				}
			}
			if err != nil {
				if k.keys == keyNone {
					return fmt.Errorf("batch %d: record %d: %w", b.Time, seen, err)
				}
				return fmt.Errorf("batch %d: record %d (key %q): %w", b.Time, seen, rec.Key, err)
			}
			seen++
		}
	}
	return nil
}

// seal freezes the entering batch's accumulators into compact partials.
func (k *keyedWindow) seal(t int64) {
	k.in = false
	p := k.spare
	k.spare = nil
	if p == nil {
		p = &windowPartials{}
	}
	p.time = t
	n := len(k.curKeys)
	p.keys = append(fitCap(p.keys, n), k.curKeys...)
	switch {
	case k.ex != nil:
		p.ex = append(fitCap(p.ex, n), k.ex.accs...)
		k.ex.reset()
	case k.red.Fn == FnCount:
		p.n = fitCap(p.n, n)
		for j := range n {
			p.n = append(p.n, k.cur[j].n)
		}
	case k.red.Fn.numeric():
		p.mant = fitCap(p.mant, n)
		for j := range n {
			a := &k.cur[j]
			if k.red.Fn == FnSum {
				p.appendDec(a.sum.Dec())
			} else {
				p.appendDec(a.dec)
			}
		}
	default:
		size := 0
		for j := range n {
			size += len(k.cur[j].txt)
		}
		p.txt, p.ends = fitCap(p.txt, size), fitCap(p.ends, n)
		for j := range n {
			p.txt = append(p.txt, k.cur[j].txt...)
			p.ends = append(p.ends, len(p.txt))
		}
	}
	k.curKeys, k.cur = k.curKeys[:0], k.cur[:0]
	k.admit(p)
}

// admit makes p the newest held batch.
func (k *keyedWindow) admit(p *windowPartials) {
	for j, i := range p.keys {
		k.refs[i]++
		if !k.inv {
			continue
		}
		if k.red.Fn == FnSum {
			k.sums[i] = k.sums[i].Add(p.dec(j))
		} else {
			k.counts[i] += p.n[j]
		}
	}
	k.batches = append(k.batches, p)
}

func (k *keyedWindow) evict() {
	p := k.batches[0]
	copy(k.batches, k.batches[1:])
	k.batches[len(k.batches)-1] = nil
	k.batches = k.batches[:len(k.batches)-1]
	removed := false
	for j, i := range p.keys {
		if k.inv {
			if k.red.Fn == FnSum {
				k.sums[i] = k.sums[i].Sub(p.dec(j))
			} else {
				k.counts[i] -= p.n[j]
			}
		}
		if k.refs[i]--; k.refs[i] == 0 {
			delete(k.idx, k.names[i])
			k.names[i], k.refs[i] = "", -1
			if k.inv {
				k.sums[i], k.counts[i] = decimal.Dec{}, 0
			}
			removed = true
		}
	}
	if removed {
		keep := k.order[:0]
		for _, i := range k.order {
			if k.refs[i] < 0 {
				k.free = append(k.free, i)
			} else {
				keep = append(keep, i)
			}
		}
		k.order = keep
	}
	p.reset()
	k.spare = p
}

// emit emits one record per key in the table, in order of entry.
func (k *keyedWindow) emit(out stage.Emitter, t, slide int64) error {
	var val func(dst []byte, i int) []byte
	switch {
	case k.inv && k.red.Fn == FnSum:
		val = func(dst []byte, i int) []byte { return k.sums[k.order[i]].Append(dst) }
	case k.inv:
		val = func(dst []byte, i int) []byte { return strconv.AppendInt(dst, k.counts[k.order[i]], 10) }
	default:
		if err := k.merge(t); err != nil {
			return err
		}
		val = func(dst []byte, i int) []byte {
			start := 0
			if i > 0 {
				start = k.ends[i-1]
			}
			return append(dst, k.vals[start:k.ends[i]]...)
		}
	}
	if k.keys == keyNone {
		return k.emitOne(out, t, slide, val)
	}
	key := func(dst []byte, i int) []byte { return append(dst, k.names[k.order[i]]...) }
	if k.keys == keyFromElement {
		key = func(dst []byte, i int) []byte { return appendElement(dst, k.names[k.order[i]]) }
	}
	return k.out.emit(out, t, slide, len(k.order), key, val)
}

// emitOne emits reducebywindow's output: one unkeyed record, or none for a
// window without values.
func (k *keyedWindow) emitOne(out stage.Emitter, t, slide int64, val func([]byte, int) []byte) error {
	k.onePart[0].Records = nil
	if len(k.order) > 0 {
		k.jsonv = val(k.jsonv[:0], 0)
		k.rec[0] = frame.Record{Value: k.jsonv}
		k.onePart[0].Records = k.rec[:]
	}
	k.one = frame.Batch{Time: t, Interval: slide, Partitions: k.onePart[:]}
	return out.Emit(&k.one)
}

// merge computes every key's result over the window into vals, in one
// pass over the window's partials (not its records), oldest batch first,
// so each key's partials merge in time order.
func (k *keyedWindow) merge(t int64) error {
	n := len(k.names)
	if cap(k.first) < n {
		k.first, k.last = make([]int64, n), make([]int64, n)
	}
	k.first, k.last = k.first[:n], k.last[:n]
	for _, i := range k.order {
		k.first[i] = -1
	}
	chain := k.ex == nil && k.red.Fn == FnConcat // concat and groups
	numeric := k.ex == nil && k.red.Fn.numeric()
	switch {
	case chain:
		k.next = k.next[:0]
	case numeric:
		k.decs = slices.Grow(k.decs[:0], n)[:n]
	case k.ex != nil:
		k.anys = slices.Grow(k.anys[:0], n)[:n]
	}
	for b, p := range k.batches {
		for j, i := range p.keys {
			loc := int64(b)<<32 | int64(j)
			if chain {
				// A list of each key's partials: next[s] follows s.
				s := len(k.next)
				k.next = append(k.next, -1)
				if k.first[i] >= 0 {
					k.next[k.last[i]] = s
				}
				loc = int64(s)
				k.locs = append(k.locs[:s], int64(b)<<32|int64(j))
			}
			isFirst := k.first[i] < 0
			if isFirst {
				k.first[i] = loc
			}
			k.last[i] = loc
			switch {
			case numeric:
				d := p.dec(j)
				switch {
				case isFirst:
					k.decs[i] = d
				case k.red.Fn == FnMin:
					k.decs[i] = decimal.Min(k.decs[i], d)
				case k.red.Fn == FnMax:
					k.decs[i] = decimal.Max(k.decs[i], d)
				}
			case k.ex != nil:
				if isFirst {
					k.anys[i] = p.ex[j]
					break
				}
				v, err := k.ex.merge(k.anys[i], p.ex[j])
				if err != nil {
					return k.mergeError(t, i, err)
				}
				k.anys[i] = v
			}
		}
	}
	k.vals, k.ends = k.vals[:0], k.ends[:0]
	for _, i := range k.order {
		var err error
		if k.vals, err = k.appendResult(k.vals, i, chain); err != nil {
			return k.mergeError(t, i, err)
		}
		k.ends = append(k.ends, len(k.vals))
	}
	clear(k.anys) // results of expressions can be big: do not keep them
	return nil
}

func (k *keyedWindow) mergeError(t int64, i int32, err error) error {
	if k.keys == keyNone {
		return fmt.Errorf("window %d: %w", t, err)
	}
	return fmt.Errorf("window %d: key %q: %w", t, k.names[i], err)
}

// text returns the text of the partial at loc (batch<<32 | index).
func (k *keyedWindow) text(loc int64) []byte {
	return k.batches[loc>>32].text(int(int32(loc)))
}

// appendResult appends key i's result, once merge has gathered it.
func (k *keyedWindow) appendResult(dst []byte, i int32, chain bool) ([]byte, error) {
	switch {
	case k.ex != nil:
		out, err := expr.AppendText(dst, k.anys[i])
		if err != nil {
			return dst, fmt.Errorf("--expr %s: %w", k.ex.prog.Source(), err)
		}
		return out, nil
	case k.red.Fn.numeric():
		return k.decs[i].Append(dst), nil
	case k.red.Fn == FnFirst:
		return append(dst, k.text(k.first[i])...), nil
	case k.red.Fn == FnLast:
		return append(dst, k.text(k.last[i])...), nil
	case !chain:
		return dst, fmt.Errorf("internal error: no result for %s", k.red.Fn)
	}
	// concat, and groups: the partials' texts joined.
	if k.group {
		dst = append(dst, '[')
	}
	for s := k.first[i]; s >= 0; s = int64(k.next[s]) {
		if s != k.first[i] {
			dst = append(dst, k.red.Sep...)
		}
		dst = append(dst, k.text(k.locs[s])...)
	}
	if k.group {
		dst = append(dst, ']')
	}
	return dst, nil
}

// snapshot writes the key table, then each held batch's partials:
//
//	frames of time 0: the keys in order of entry, as keyed records with
//	                  empty values; a key's ordinal is its place here
//	per held batch, frames of its time: one unkeyed record per partial,
//	    uvarint ordinal, then the partial: count a uvarint; sum, min and
//	    max decimal text; concat, first, last and groups the text; --expr
//	    appendExprValue's form
func (k *keyedWindow) snapshot(fw *frame.Writer) error {
	var data []byte
	recs := make([]frame.Record, 0, len(k.order))
	for _, i := range k.order {
		data = append(data, k.names[i]...)
	}
	ord := make([]uint32, len(k.names))
	start := 0
	for o, i := range k.order {
		end := start + len(k.names[i])
		recs = append(recs, frame.Record{Key: data[start:end:end], Value: nil, Keyed: true})
		ord[i] = uint32(o)
		start = end
	}
	if err := writeStateBatch(fw, &frame.Batch{Partitions: []frame.Partition{{Records: recs}}}); err != nil {
		return err
	}
	for _, p := range k.batches {
		data, recs = data[:0], recs[:0]
		var ends []int
		for j, i := range p.keys {
			data = binary.AppendUvarint(data, uint64(ord[i]))
			var err error
			if data, err = k.appendPartial(data, p, j); err != nil {
				return err
			}
			ends = append(ends, len(data))
		}
		start := 0
		for _, end := range ends {
			recs = append(recs, frame.Record{Value: data[start:end:end]})
			start = end
		}
		if err := writeStateBatch(fw, &frame.Batch{Time: p.time, Partitions: []frame.Partition{{Records: recs}}}); err != nil {
			return err
		}
	}
	return nil
}

func (k *keyedWindow) appendPartial(dst []byte, p *windowPartials, j int) ([]byte, error) {
	switch {
	case k.ex != nil:
		return appendExprValue(dst, p.ex[j])
	case k.red.Fn == FnCount:
		return binary.AppendUvarint(dst, uint64(p.n[j])), nil
	case k.red.Fn.numeric():
		return p.dec(j).Append(dst), nil
	}
	return append(dst, p.text(j)...), nil
}

func (k *keyedWindow) restore(fr *frame.Reader, held []heldBatch) error {
	err := readStateBatch(fr, 0, func(b *frame.Batch) error {
		for _, part := range b.Partitions {
			for _, r := range part.Records {
				if !r.Keyed || len(r.Value) != 0 {
					return badWindowState("key table entry %d is not a key", len(k.order))
				}
				if _, dup := k.idx[string(r.Key)]; dup {
					return badWindowState("key %q twice in the key table", r.Key)
				}
				k.lookup(r.Key)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, h := range held {
		k.newBatch()
		p := &windowPartials{time: h.time}
		count := int64(0)
		err := readStateBatch(fr, h.time, func(b *frame.Batch) error {
			for _, part := range b.Partitions {
				for _, r := range part.Records {
					n, err := k.readPartial(p, r.Value)
					if err != nil {
						return fmt.Errorf("%w (batch %d)", err, h.time)
					}
					count += n
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		k.in = false
		if (len(p.keys) > 0) != (h.records > 0) || (k.ex == nil && k.red.Fn == FnCount && count != h.records) {
			return badWindowState("batch %d: %d windowPartials for %d records", h.time, len(p.keys), h.records)
		}
		k.admit(p)
	}
	for _, i := range k.order {
		if k.refs[i] == 0 {
			return badWindowState("key %q is in no held batch", k.names[i])
		}
	}
	return nil
}

// readPartial reads one partial into p; n is its value count when the
// function is count.
func (k *keyedWindow) readPartial(p *windowPartials, b []byte) (n int64, err error) {
	o, w := binary.Uvarint(b)
	if w <= 0 || o >= uint64(len(k.order)) {
		return 0, badWindowState("partial of an unknown key")
	}
	i := k.order[o]
	if k.stamp[i] == k.seq {
		return 0, badWindowState("key %q has two windowPartials in one batch", k.names[i])
	}
	k.stamp[i] = k.seq
	b = b[w:]
	switch {
	case k.ex != nil:
		v, rest, err := readExprValue(b)
		if err != nil || len(rest) > 0 {
			return 0, badWindowState("key %q: malformed --expr value", k.names[i])
		}
		p.ex = append(p.ex, v)
	case k.red.Fn == FnCount:
		x, w := binary.Uvarint(b)
		if w <= 0 || w != len(b) || x == 0 || x > 1<<62 {
			return 0, badWindowState("key %q: malformed count", k.names[i])
		}
		n = int64(x)
		p.n = append(p.n, n)
	case k.red.Fn.numeric():
		d, err := decimal.Parse(b)
		if err != nil {
			return 0, badWindowState("key %q: %v", k.names[i], err)
		}
		p.appendDec(d)
	default:
		p.txt = append(p.txt, b...)
		p.ends = append(p.ends, len(p.txt))
	}
	p.keys = append(p.keys, i)
	return n, nil
}
