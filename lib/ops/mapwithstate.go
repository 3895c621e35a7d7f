package ops

import (
	"context"
	"fmt"
	"io"
	"math"

	"dstream/lib/expr"
	"dstream/lib/frame"
	"dstream/lib/stage"

	"github.com/urfave/cli/v2"
)

// MapWithState is Spark's PairDStreamFunctions.mapWithState with
// StateSpec.function((key, value, state) => mapped).
var MapWithState = &stage.Spec{
	Name:      "mapwithstate",
	Usage:     "map every record with a state kept per key across batches (Spark's mapWithState)",
	ArgsUsage: "[FN]",
	Description: `mapwithstate FN keeps a state for every key across batches and maps every
record with it, as Spark's mapWithState(StateSpec.function(...)): for each
record, in input order, the key's state is updated with the record's value
and the record becomes KEY<TAB>MAPPED, by default the new state. Only keys
with records in a batch are touched. FN keeps a running:
  sum     exact decimal sum of the key's values (94.65 + 2.49 is 97.14)
  count   number of values          last   last value
  max     largest value             min    smallest value
so mapwithstate count numbers each key's records 1, 2, 3, ... across
batches. sum, max and min read values as decimal numbers (12, -3.25, 1e3).

--expr STATE_EXPR computes the new state instead, over
  key, value, time  the record's key and value, and the batch time in ms
  state             the key's state, nil when it has none
and a nil result removes the key's state (Spark's state.remove()).
--emit EXPR gives the mapped value instead of the new state, over key,
value, time, state (the new state, nil when removed), prev (the state
before the record) and timedout (false, see --timeout); a nil result maps
the record to nothing (Spark's None), a pair(k, v) result to the record
k<TAB>v. With FN, --emit sees the running value as state. A value or a
state is a number when its text is a JSON number (so state + value adds),
true or false, decoded JSON for an array or object, else text; a state is
kept as the text of the result (a list or map as JSON) and given back so,
which makes a stage restored from a checkpoint see exactly what an
uninterrupted one sees. An expression that fails stops the stage with an
error naming the batch, record, key and expression.

--timeout D times out a key that has had no record for D of batch time
(never the wall clock): at the first batch T with last + D <= T (last:
the time of the batch of its last record), after the batch's records,
--emit is called for it once more with value nil,
timedout true and state (and prev) its state, its mapped value is output,
and its state is removed (Spark's State.isTimingOut()). Keys from
--initial count as seen at the first batch. (Spark checks for timeouts
only on its checkpoint batches; this stage checks on every batch, so a key
times out exactly D after its last record.)

--snapshots outputs, instead of the mapped records, the whole state after
every batch as KEY<TAB>STATE (Spark's stateSnapshots()), in the order keys
entered the state; timed-out keys are gone from it.

--initial FILE seeds the state before the first batch with KEY<TAB>STATE
lines (Spark's StateSpec.initialState); for sum, max and min a state must
be a number, for count a whole number. A bad line is a usage error naming
the file and line.

Records must be keyed (use keyby or produce --keyed first). The output
batch has the input's time and interval and --partitions partitions (a
record goes to partition FNV-1a(key) mod N). Mapped records keep input
order; the timed-out keys' records follow, in the order the keys entered
the state. A chunked input batch gives chunked output.

The stage keeps state: give --checkpoint DIR (or DSTREAM_CHECKPOINT), or
--ephemeral to run without recovery.

Examples:
   produce --keyed --queue a.txt b.txt | mapwithstate sum --ephemeral | sink
   ... | mapwithstate --expr '(state ?? 0) + value' --emit 'pair(key, [value, state])' | sink
   ... | mapwithstate --expr 'value' --timeout 30s --emit 'timedout ? prev : nil' | sink
   ... | mapwithstate count --snapshots | sink`,
	Flags: append([]cli.Flag{
		&cli.StringFlag{Name: "expr", Usage: "the new state: `STATE_EXPR` over key, value, state (nil when none) and time, instead of FN; nil removes the state"},
		&cli.StringFlag{Name: "emit", Usage: "the mapped value: `EXPR` over key, value, state, prev, time and timedout (default: the new state); nil maps to nothing"},
		&cli.StringFlag{Name: "timeout", Usage: "time out a key with no record for `D` of batch time (a Go duration: 30s, 5m)"},
		&cli.BoolFlag{Name: "snapshots", Usage: "output the whole state after every batch instead of the mapped records (stateSnapshots())"},
		&cli.StringFlag{Name: "initial", Usage: "seed the state from `FILE` of KEY<TAB>STATE lines (StateSpec.initialState)"},
	}, keyedFlags()...),
	MinArgs: 0, MaxArgs: 1,
	Kind:     stage.KindOperator,
	Stateful: true,
	New:      newMapWithState,
}

type mapWithState struct {
	fn        *stateFn      // a named function, or
	prog      *expr.Program // --expr
	emit      *expr.Program // --emit; nil: the new state
	timeout   int64         // ms; 0: none
	snapshots bool
	tbl       *keyStates
	// started is set by the first batch, which stamps --initial's keys
	// as seen; last is the time of the last whole batch.
	started bool
	last    int64
	// minSeen is at most the seen time of every key in the state, so a
	// batch with nothing old enough to time out needs no scan.
	minSeen int64
	seen    int // records of the batch so far, for error messages
	acc     Acc
	state   []byte // the new state of the record at hand
	mapped  []byte
	out     keyedChunks
}

func newMapWithState(c *stage.Context) (any, error) {
	parts, err := partitionsFlag(c)
	if err != nil {
		return nil, err
	}
	m := &mapWithState{out: keyedChunks{parts: parts}, snapshots: c.Bool("snapshots"), minSeen: math.MaxInt64}
	if m.fn, m.prog, err = stateFnArgs(c, "key", "value", "state", "time"); err != nil {
		return nil, err
	}
	if src := c.String("emit"); src != "" {
		if m.snapshots {
			return nil, stage.Usagef("--emit and --snapshots exclude each other (--snapshots outputs the state, not mapped values)")
		}
		if m.emit, err = expr.Compile(src, "key", "value", "state", "prev", "time", "timedout"); err != nil {
			return nil, stage.Usagef("--emit: %v", err)
		}
	}
	if c.IsSet("timeout") {
		if m.timeout, err = parseMs(c, "timeout", false); err != nil {
			return nil, err
		}
	}
	m.tbl = newKeyStates(m.timeout > 0)
	if path := c.String("initial"); path != "" {
		var check func([]byte) ([]byte, error)
		if m.fn != nil {
			check = m.fn.checkInitial
		}
		if err := loadInitial(m.tbl, path, check); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *mapWithState) Process(_ context.Context, b *frame.Batch, out stage.Emitter) error {
	t := m.tbl
	if !m.started {
		// Spark stamps the initial state with the first batch's time.
		for e := range t.seen {
			t.seen[e] = b.Time
		}
		m.started = true
		if t.live > 0 {
			m.minSeen = b.Time
		}
	}
	m.out.begin(b.Time, b.Interval)
	for _, p := range b.Partitions {
		for i := range p.Records {
			if err := m.record(&p.Records[i], b.Time, out); err != nil {
				return err
			}
			m.seen++
		}
	}
	if b.More {
		if m.snapshots {
			return nil
		}
		return m.out.emit(out, true)
	}
	m.last, m.seen = b.Time, 0
	if err := m.timeouts(b.Time, out); err != nil {
		return err
	}
	if m.snapshots {
		for e := range t.ents {
			if s, ok := t.state(e); ok && t.alive(e) {
				if err := m.out.add(out, t.key(e), s); err != nil {
					return err
				}
			}
		}
	}
	err := m.out.emit(out, false)
	t.compact()
	return err
}

// record maps one record and updates its key's state.
func (m *mapWithState) record(rec *frame.Record, bt int64, out stage.Emitter) error {
	if !rec.Keyed {
		return noKeyError("mapwithstate", bt, m.seen)
	}
	t := m.tbl
	e, at := t.find(rec.Key)
	var prev []byte
	had := false
	if e >= 0 {
		prev, had = t.state(e)
	}
	keep := true
	if m.fn != nil {
		m.acc.Reset()
		err := m.fn.red.Add(&m.acc, rec.Value)
		if err != nil {
			err = m.fn.red.valueError(err)
		} else {
			m.state, err = m.fn.update(m.state[:0], prev, had, &m.acc)
		}
		if err != nil {
			return fmt.Errorf("batch %d: record %d (key %q): %w", bt, m.seen, rec.Key, err)
		}
	} else {
		p := m.prog
		p.Set("key", viewString(rec.Key))
		p.Set("value", stateArg(rec.Value))
		p.Set("state", argOf(prev, had))
		p.Set("time", int(bt))
		res, err := p.Run()
		if err == nil && res != nil {
			m.state, err = expr.AppendText(m.state[:0], res)
		}
		if err != nil {
			return fmt.Errorf("batch %d: record %d (key %q): --expr %s: %w", bt, m.seen, rec.Key, p.Source(), err)
		}
		keep = res != nil
	}
	if !m.snapshots {
		if err := m.mapOut(out, rec.Key, rec.Value, m.state, keep, prev, had, bt, false); err != nil {
			return fmt.Errorf("batch %d: record %d (key %q): %w", bt, m.seen, rec.Key, err)
		}
	}
	if !keep {
		if e >= 0 {
			t.remove(e)
		}
		return nil
	}
	if e < 0 {
		var err error
		if e, err = t.insert(rec.Key, at); err != nil {
			return fmt.Errorf("batch %d: record %d: %w", bt, m.seen, err)
		}
	}
	if t.timed {
		t.seen[e] = bt
		m.minSeen = min(m.minSeen, bt)
	}
	if err := t.set(e, m.state); err != nil {
		return fmt.Errorf("batch %d: record %d (key %q): %w", bt, m.seen, rec.Key, err)
	}
	return nil
}

// argOf is a state as an expression variable: nil when there is none.
func argOf(s []byte, ok bool) any {
	if !ok {
		return nil
	}
	return stateArg(s)
}

// mapOut outputs the mapped value of a record (or of a key timing out,
// value nil): --emit's result, or the new state when it is kept.
func (m *mapWithState) mapOut(out stage.Emitter, key, value, state []byte, kept bool, prev []byte, had bool, bt int64, timedout bool) error {
	if m.emit == nil {
		if !kept {
			return nil
		}
		return m.out.addCopy(out, key, state)
	}
	p := m.emit
	p.Set("key", viewString(key))
	if timedout {
		p.Set("value", nil)
	} else {
		p.Set("value", stateArg(value))
	}
	p.Set("state", argOf(state, kept))
	p.Set("prev", argOf(prev, had))
	p.Set("time", int(bt))
	p.Set("timedout", timedout)
	res, err := p.Run()
	if err != nil {
		return fmt.Errorf("--emit %s: %w", p.Source(), err)
	}
	if res == nil {
		return nil
	}
	if pr, ok := res.(expr.Pair); ok {
		if m.mapped, err = expr.AppendText(m.mapped[:0], pr.Key); err != nil {
			return fmt.Errorf("--emit %s: the pair's key: %w", p.Source(), err)
		}
		n := len(m.mapped)
		if m.mapped, err = expr.AppendText(m.mapped, pr.Value); err != nil {
			return fmt.Errorf("--emit %s: %w", p.Source(), err)
		}
		return m.out.addCopy(out, m.mapped[:n], m.mapped[n:])
	}
	if m.mapped, err = expr.AppendText(m.mapped[:0], res); err != nil {
		return fmt.Errorf("--emit %s: %w", p.Source(), err)
	}
	return m.out.addCopy(out, key, m.mapped)
}

// timeouts maps and removes the keys with no record for the timeout, in
// state order, at the end of batch bt.
func (m *mapWithState) timeouts(bt int64, out stage.Emitter) error {
	t := m.tbl
	if m.timeout == 0 || m.minSeen > bt-m.timeout {
		return nil
	}
	low := int64(math.MaxInt64)
	for e := range t.ents {
		if !t.alive(e) {
			continue
		}
		if seen := t.seen[e]; seen > bt-m.timeout {
			low = min(low, seen)
			continue
		}
		if !m.snapshots {
			s, _ := t.state(e)
			if err := m.mapOut(out, t.key(e), nil, s, true, s, true, bt, true); err != nil {
				return fmt.Errorf("batch %d: key %q (timing out): %w", bt, t.key(e), err)
			}
		}
		t.remove(e)
	}
	m.minSeen = low
	return nil
}

// mapWithStateVersion is the format of mapwithstate's snapshot: uvarints
// of the version, flags (1: the first batch came, 2: timed) and the last
// batch time; then the keys' states (keyStates.writeTo, with their seen
// times relative to the last batch time when timed).
const mapWithStateVersion = 1

// Snapshot implements stage.Snapshotter.
func (m *mapWithState) Snapshot(w io.Writer) error {
	var flags uint64
	if m.started {
		flags |= 1
	}
	if m.tbl.timed {
		flags |= 2
	}
	if err := writeHeader(w, mapWithStateVersion, flags, uint64(m.last)); err != nil {
		return err
	}
	return m.tbl.writeTo(w, m.last)
}

// Restore implements stage.Snapshotter: the snapshot replaces the state,
// --initial's included.
func (m *mapWithState) Restore(r io.Reader) error {
	t := m.tbl
	t.reset()
	br, size := snapshotReader(r)
	var flags, last uint64
	if err := readHeader(br, mapWithStateVersion, &flags, &last); err != nil {
		return err
	}
	if flags&^3 != 0 {
		return fmt.Errorf("snapshot: unknown flags %#x", flags)
	}
	if timed := flags&2 != 0; timed != t.timed {
		return fmt.Errorf("the snapshot was taken with --timeout %v, this stage has it %v: restart with the same flags (or reset the state)", onOff(timed), onOff(t.timed))
	}
	m.started, m.last = flags&1 != 0, int64(last)
	if err := t.readFrom(br, m.last, size); err != nil {
		return err
	}
	m.minSeen = math.MaxInt64
	if t.timed {
		for e := range t.ents {
			m.minSeen = min(m.minSeen, t.seen[e])
		}
	}
	return nil
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}
