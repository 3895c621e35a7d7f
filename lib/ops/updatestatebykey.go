package ops

import (
	"context"
	"fmt"
	"io"
	"unsafe"

	"dstream/lib/enum"
	"dstream/lib/expr"
	"dstream/lib/frame"
	"dstream/lib/stage"

	"github.com/urfave/cli/v2"
)

// UpdateStateByKey is Spark's PairDStreamFunctions.updateStateByKey.
var UpdateStateByKey = &stage.Spec{
	Name:      "updatestatebykey",
	Usage:     "keep a state per key across batches, updated by every batch's values (Spark's updateStateByKey)",
	ArgsUsage: "[FN]",
	Description: `updatestatebykey FN keeps a state for every key across batches. On every
batch it updates the state of each key that has values in the batch and
outputs every key in the state as KEY<TAB>STATE:
  sum     the exact decimal sum of the key's values so far (94.65 + 2.49
          is 97.14; an integer prints without a decimal point)
  count   the number of values so far
  last    the last value so far (in input order)
  max     the largest value so far       min   the smallest value so far
sum, max and min read values as decimal numbers (12, -3.25, 1e3); a value
that is not one stops the stage with an error naming the batch, record and
key. A key with no values in a batch keeps its state (Spark's
values.sum + state.getOrElse(0)).

--expr EXPR updates with an expression instead, as Spark's
updateStateByKey((values, state) => ...): on every batch it is called for
every key in the state or in the batch, with
  values  the key's values in this batch, in input order (an empty list
          when it has none)
  state   the key's state, nil when it has none yet
  key, time  the key, and the batch time in ms
and its result is the key's new state; nil removes the key. A value or a
state is a number when its text is a JSON number (so sum(values) +
(state ?? 0) adds), true or false, decoded JSON when it is an array or
object (so a list state stays a list), else text. The state is kept as
the text of the result (AppendText: a number in decimal, a list or map as
JSON) and given back as above on the next batch, so a stage restored from
a checkpoint sees exactly what an uninterrupted one sees. Numbers are
64-bit: an int, or a float with 15 significant digits; use a named
function for exact decimal sums. An expression that fails stops the stage
with an error naming the batch, key and expression.

--initial FILE seeds the state before the first batch with KEY<TAB>STATE
lines (Spark's initialRDD); for sum, max and min a state must be a
number, for count a whole number. A bad line is a usage error naming the
file and line.

Records must be keyed (use keyby or produce --keyed first). The output
batch has the input's time and interval and --partitions partitions (a key
goes to partition FNV-1a(key) mod N). Keys appear in the order they entered
the state: --initial's in file order, then new keys in the order of their
first record; a key removed and seen again enters anew, at the end. Spark's
order, hash partitions, cannot be reproduced; this one can, and a restore
from a checkpoint keeps it. An empty batch gives every key's state.

The stage keeps state: give --checkpoint DIR (or DSTREAM_CHECKPOINT), or
--ephemeral to run without recovery.

Examples:
   produce --keyed --queue a.txt b.txt | updatestatebykey sum --ephemeral | sink
   ... | updatestatebykey --expr 'sum(values) + (state ?? 0)' --initial seed.tsv | sink
   ... | updatestatebykey --expr 'len(values) == 0 ? nil : concat(state ?? [], values)' | sink`,
	Flags: append([]cli.Flag{
		&cli.StringFlag{Name: "expr", Usage: "update with expression `EXPR` over values and state (nil when new) instead of FN; a nil result removes the key"},
		&cli.StringFlag{Name: "initial", Usage: "seed the state from `FILE` of KEY<TAB>STATE lines (Spark's initialRDD)"},
	}, keyedFlags()...),
	MinArgs: 0, MaxArgs: 1,
	Kind:     stage.KindOperator,
	Stateful: true,
	New:      newUpdateStateByKey,
}

type updateStateByKey struct {
	fn   *stateFn      // a named function, or
	prog *expr.Program // --expr
	tbl  *keyStates
	// The batch so far: the entries with values, in order of their first
	// value (their mark is their position + 1), and their values.
	touched []int32
	accs    []Acc       // fn: per touched entry
	vals    batchValues // --expr
	seen    int         // records, for error messages
	args    []any       // --expr's values list, reused
	scratch []byte
	out     keyedChunks
}

func newUpdateStateByKey(c *stage.Context) (any, error) {
	parts, err := partitionsFlag(c)
	if err != nil {
		return nil, err
	}
	u := &updateStateByKey{tbl: newKeyStates(false), out: keyedChunks{parts: parts}, args: make([]any, 0, 16)}
	if u.fn, u.prog, err = stateFnArgs(c, "values", "state", "key", "time"); err != nil {
		return nil, err
	}
	if path := c.String("initial"); path != "" {
		var check func([]byte) ([]byte, error)
		if u.fn != nil {
			check = u.fn.checkInitial
		}
		if err := loadInitial(u.tbl, path, check); err != nil {
			return nil, err
		}
	}
	return u, nil
}

// stateFnArgs reads FN, or --expr compiled with vars, for
// updatestatebykey and mapwithstate.
func stateFnArgs(c *stage.Context, vars ...string) (*stateFn, *expr.Program, error) {
	name := c.Spec.Name
	src := c.String("expr")
	switch {
	case c.NArg() == 0 && src == "":
		return nil, nil, stage.Usagef("want a function (%s) or --expr, got neither (see '%s --help')", stateFnList, name)
	case c.NArg() > 0 && src != "":
		return nil, nil, stage.Usagef("want a function or --expr, not both (see '%s --help')", name)
	case src != "":
		p, err := expr.Compile(src, vars...)
		if err != nil {
			return nil, nil, stage.Usagef("--expr: %v", err)
		}
		return nil, p, nil
	}
	i, err := enum.Parse[int]("function", stateFnNames, c.Args().First())
	if err != nil {
		return nil, nil, stage.Usagef("%v", err)
	}
	return &stateFn{red: Reducer{Fn: stateFns[i]}}, nil, nil
}

func (u *updateStateByKey) Process(_ context.Context, b *frame.Batch, out stage.Emitter) error {
	t := u.tbl
	for _, p := range b.Partitions {
		for i := range p.Records {
			rec := &p.Records[i]
			if !rec.Keyed {
				return noKeyError("updatestatebykey", b.Time, u.seen)
			}
			e, at := t.find(rec.Key)
			if e < 0 {
				var err error
				if e, err = t.insert(rec.Key, at); err != nil {
					return fmt.Errorf("batch %d: record %d: %w", b.Time, u.seen, err)
				}
			}
			slot := t.mark[e]
			if slot == 0 {
				u.touched = append(u.touched, int32(e))
				slot = int32(len(u.touched))
				t.mark[e] = slot
				if u.fn != nil {
					u.accs = grow(u.accs, int(slot)-1)
				}
			}
			if u.fn != nil {
				if err := u.fn.red.Add(&u.accs[slot-1], rec.Value); err != nil {
					return fmt.Errorf("batch %d: record %d (key %q): %w", b.Time, u.seen, rec.Key, u.fn.red.valueError(err))
				}
			} else {
				u.vals.add(slot-1, rec.Value)
			}
			u.seen++
		}
	}
	if b.More {
		return nil
	}
	defer u.endBatch()
	var err error
	if u.fn != nil {
		err = u.updateNamed(b.Time)
	} else {
		err = u.updateExpr(b.Time)
	}
	if err != nil {
		return err
	}
	u.out.begin(b.Time, b.Interval)
	for e := range t.ents {
		if s, ok := t.state(e); ok && t.alive(e) {
			if err := u.out.add(out, t.key(e), s); err != nil {
				return err
			}
		}
	}
	return u.out.emit(out, false)
}

// updateNamed applies the batch's values to the keys that have some.
func (u *updateStateByKey) updateNamed(bt int64) error {
	t := u.tbl
	for i, e := range u.touched {
		prev, had := t.state(int(e))
		var err error
		if u.scratch, err = u.fn.update(u.scratch[:0], prev, had, &u.accs[i]); err == nil {
			err = t.set(int(e), u.scratch)
		}
		if err != nil {
			return fmt.Errorf("batch %d: key %q: %w", bt, t.key(int(e)), err)
		}
	}
	return nil
}

// updateExpr calls --expr for every key in the state or in the batch, in
// state order.
func (u *updateStateByKey) updateExpr(bt int64) error {
	t, p := u.tbl, u.prog
	u.vals.group(len(u.touched))
	p.Set("time", int(bt))
	for e := range t.ents {
		if !t.alive(e) {
			continue
		}
		args := u.args[:0]
		if slot := t.mark[e]; slot > 0 {
			for _, i := range u.vals.span(int(slot) - 1) {
				args = append(args, stateArg(u.vals.value(i)))
			}
		}
		u.args = args
		var st any
		if s, ok := t.state(e); ok {
			st = stateArg(s)
		}
		key := t.key(e)
		p.Set("values", args)
		p.Set("state", st)
		p.Set("key", viewString(key))
		res, err := p.Run()
		if err == nil && res != nil {
			u.scratch, err = expr.AppendText(u.scratch[:0], res)
		}
		if err != nil {
			return fmt.Errorf("batch %d: key %q: --expr %s: %w", bt, key, p.Source(), err)
		}
		if res == nil {
			t.remove(e)
		} else if err := t.set(e, u.scratch); err != nil {
			return fmt.Errorf("batch %d: key %q: %w", bt, key, err)
		}
	}
	clear(u.args[:cap(u.args)]) // let the last values go
	return nil
}

// endBatch forgets the batch and compacts the state between batches.
func (u *updateStateByKey) endBatch() {
	for _, e := range u.touched {
		u.tbl.mark[e] = 0
	}
	u.touched = u.touched[:0]
	u.seen = 0
	u.vals.reset()
	// A batch of many keys leaves big buffers behind; the state, not the
	// biggest batch ever seen, should set the memory kept.
	if cap(u.accs) > 1<<16 {
		u.accs, u.touched = nil, nil
	}
	u.tbl.compact()
}

// updateStateVersion is the format of updatestatebykey's snapshot: the
// version (a uvarint), then the keys' states (keyStates.writeTo).
const updateStateVersion = 1

// Snapshot implements stage.Snapshotter.
func (u *updateStateByKey) Snapshot(w io.Writer) error {
	if len(u.touched) > 0 {
		return fmt.Errorf("internal error: a snapshot in the middle of a batch")
	}
	if err := writeHeader(w, updateStateVersion); err != nil {
		return err
	}
	return u.tbl.writeTo(w, 0)
}

// Restore implements stage.Snapshotter: the snapshot replaces the state,
// --initial's included.
func (u *updateStateByKey) Restore(r io.Reader) error {
	u.tbl.reset()
	br, size := snapshotReader(r)
	if err := readHeader(br, updateStateVersion); err != nil {
		return err
	}
	return u.tbl.readFrom(br, 0, size)
}

// batchValues keeps a batch's values per key slot for --expr: copied in
// record order, grouped by slot at the end of the batch.
type batchValues struct {
	buf   []byte
	ends  []int   // per value: its end in buf
	slots []int32 // per value: its slot
	start []int32 // after group: slot i's values are order[start[i]:start[i+1]]
	order []int32
}

func (v *batchValues) add(slot int32, b []byte) {
	v.buf = append(v.buf, b...)
	v.ends = append(v.ends, len(v.buf))
	v.slots = append(v.slots, slot)
}

// group sorts the values by slot (a counting sort: stable, so each slot's
// values keep input order).
func (v *batchValues) group(slots int) {
	v.start = resize(v.start, slots+1)
	clear(v.start)
	for _, s := range v.slots {
		v.start[s+1]++
	}
	for i := 1; i <= slots; i++ {
		v.start[i] += v.start[i-1]
	}
	v.order = resize(v.order, len(v.slots))
	next := v.start[:slots] // advanced as values are placed, then restored
	for i, s := range v.slots {
		v.order[next[s]] = int32(i)
		next[s]++
	}
	copy(v.start[1:], next)
	v.start[0] = 0
}

// span returns the numbers of slot's values, after group.
func (v *batchValues) span(slot int) []int32 { return v.order[v.start[slot]:v.start[slot+1]] }

// value returns value i; it aliases buf.
func (v *batchValues) value(i int32) []byte {
	from := 0
	if i > 0 {
		from = v.ends[i-1]
	}
	return v.buf[from:v.ends[i]]
}

func (v *batchValues) reset() {
	v.buf, v.ends, v.slots = v.buf[:0], v.ends[:0], v.slots[:0]
	if cap(v.buf) > 16<<20 || cap(v.ends) > 1<<20 {
		*v = batchValues{}
	}
}

// viewString returns b's bytes as a string without a copy, for an
// expression variable whose result is turned into text before b changes.
func viewString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
