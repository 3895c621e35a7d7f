package ops

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"dstream/lib/frame"
	"dstream/lib/stage"
)

// What every windowed stage shares (DESIGN.md "Time", Windows): the
// WINDOW[/SLIDE] argument, the check of the first frame, the slide clock
// that decides when a window is emitted and which batches it holds, the
// drain at EOS, and the snapshot of all that. What a stage keeps of the
// batches in its window is its windowContents.

// windowArgUsage is the usage text of the WINDOW[/SLIDE] argument.
const windowArgUsage = `W is the window and S the slide, Go durations of whole milliseconds (3s/2s,
1500ms/500ms, 1m/10s); W alone slides by one input batch. Both must be
multiples of the input's batch interval: the stage checks at the first
batch and stops with an error naming the three durations otherwise. A
window may be shorter than its slide (then some batches are in no window).

Output batches come at the multiples of S since the epoch, from the first
one at or after the first input batch, with interval S; the window at T
holds the input batches whose times are in (T-W, T], so the first windows
are partial. The output for T goes out as soon as the input batch of time T
is whole (or a later batch came, if the input skipped T); every multiple of
S gets an output batch, empty or not. At EOS the windows that still hold
records are emitted (drained) one slide at a time; at STOP nothing is.
Time is the batch times only, never a clock.

The stage keeps state across batches: give --checkpoint DIR (or set
DSTREAM_CHECKPOINT) so that a restarted pipeline resumes with its windows,
or --ephemeral to run without recovery on purpose.`

// windowArg is a windowed stage's first argument.
type windowArg struct {
	window int64 // ms
	slide  int64 // ms; 0: one input batch
}

// parseWindowArg reads WINDOW or WINDOW/SLIDE; the error is a usage error.
func parseWindowArg(s string) (windowArg, error) {
	ws, ss, hasSlide := strings.Cut(s, "/")
	w, err := parseWindowDuration("window", ws, s)
	if err != nil {
		return windowArg{}, err
	}
	a := windowArg{window: w}
	if hasSlide {
		if a.slide, err = parseWindowDuration("slide", ss, s); err != nil {
			return windowArg{}, err
		}
	}
	return a, nil
}

func parseWindowDuration(what, text, arg string) (int64, error) {
	d, err := time.ParseDuration(text)
	switch {
	case err != nil:
		return 0, stage.Usagef("%s %q in %q: want a Go duration like 3s, 1500ms or 1m (the argument is WINDOW or WINDOW/SLIDE)", what, text, arg)
	case d <= 0:
		return 0, stage.Usagef("%s %s in %q: want a positive duration", what, text, arg)
	case d%time.Millisecond != 0:
		return 0, stage.Usagef("%s %s in %q: want whole milliseconds (batch times are in ms)", what, text, arg)
	}
	return d.Milliseconds(), nil
}

// fmtMS writes a duration in ms the way users write it: 3s, 1500ms.
func fmtMS(ms int64) string {
	if ms%1000 == 0 {
		return fmt.Sprintf("%ds", ms/1000)
	}
	return fmt.Sprintf("%dms", ms)
}

// heldBatch is an input batch in the window: its time and record count
// (the drain at EOS stops at the first window without records).
type heldBatch struct{ time, records int64 }

// windowContents is what a windowed stage keeps of the batches in its
// window. The windower calls add for each chunk of a batch that enters
// the window and seal when the batch is whole; emit for each output; evict
// to drop the oldest batch once no later window holds it.
type windowContents interface {
	// add takes a chunk of the entering batch; seen counts the records of
	// the batch before the chunk, for error messages.
	add(b *frame.Batch, seen int64) error
	// seal makes the entering batch, of time t, the newest held batch.
	seal(t int64)
	// emit emits the output of time t, interval slide, from the held
	// batches, which are exactly the window's.
	emit(out stage.Emitter, t, slide int64) error
	// evict drops the oldest held batch.
	evict()
	// snapshot writes the held batches' contents as frames; restore reads
	// them back into a freshly built stage, given the held batches.
	snapshot(fw *frame.Writer) error
	restore(fr *frame.Reader, held []heldBatch) error
}

// windower is a windowed stage: the slide clock around a windowContents.
// It is the stage's Operator, Finisher and Snapshotter.
type windower struct {
	arg windowArg
	c   windowContents

	// Set by the first batch.
	started         bool
	interval, slide int64
	next            int64 // the next output time, a multiple of slide
	last            int64 // the last batch's time
	held            []heldBatch
	open, skip      bool  // a batch is coming in chunks; it is in no window
	records         int64 // records of the entering batch so far
}

func newWindower(c *stage.Context, contents windowContents) (*windower, error) {
	arg, err := parseWindowArg(c.Args().First())
	if err != nil {
		return nil, err
	}
	return &windower{arg: arg, c: contents}, nil
}

// Process implements stage.Operator.
func (w *windower) Process(_ context.Context, b *frame.Batch, out stage.Emitter) error {
	if !w.open {
		if err := w.begin(b, out); err != nil {
			return err
		}
	}
	if !w.skip {
		if err := w.c.add(b, w.records); err != nil {
			return err
		}
	}
	w.records += int64(b.Len())
	if b.More {
		return nil
	}
	w.open = false
	if !w.skip {
		w.held = append(w.held, heldBatch{b.Time, w.records})
		w.c.seal(b.Time)
	}
	if b.Time == w.next {
		return w.emit(out)
	}
	return nil
}

// begin starts a batch: the first one sets the clock; every one first
// emits the windows that end before it (when the input skipped their
// times).
func (w *windower) begin(b *frame.Batch, out stage.Emitter) error {
	if !w.started {
		if err := w.start(b); err != nil {
			return err
		}
	} else {
		if b.Interval != w.interval {
			return fmt.Errorf("batch %d has interval %s after batches of %s (a window needs one batch interval)", b.Time, fmtMS(b.Interval), fmtMS(w.interval))
		}
		if b.Time <= w.last {
			return fmt.Errorf("batch %d came after batch %d (batch times must increase)", b.Time, w.last)
		}
	}
	for w.next < b.Time {
		if err := w.emit(out); err != nil {
			return err
		}
	}
	w.open, w.last, w.records = true, b.Time, 0
	w.skip = b.Time <= w.next-w.arg.window
	return nil
}

// start checks the first batch against the window and sets the clock.
func (w *windower) start(b *frame.Batch) error {
	iv := b.Interval
	if iv <= 0 {
		return fmt.Errorf("batch %d has interval %dms (a window needs a positive batch interval)", b.Time, iv)
	}
	slide, slideText := w.arg.slide, fmtMS(w.arg.slide)
	if slide == 0 {
		slide, slideText = iv, fmtMS(iv)+" (one batch)"
	}
	if w.arg.window%iv != 0 || slide%iv != 0 {
		return fmt.Errorf("batch %d: window %s and slide %s must be multiples of the batch interval %s (the window and slide intervals must be multiples of the batch timing)",
			b.Time, fmtMS(w.arg.window), slideText, fmtMS(iv))
	}
	w.started, w.interval, w.slide = true, iv, slide
	w.next = nextMultiple(b.Time, slide)
	return nil
}

// nextMultiple returns the least multiple of m at or after t.
func nextMultiple(t, m int64) int64 {
	r := t % m
	switch {
	case r == 0:
		return t
	case r < 0:
		return t - r
	}
	return t - r + m
}

// emit emits the window of time next, advances the clock and drops the
// batches that the next window does not hold.
func (w *windower) emit(out stage.Emitter) error {
	if err := w.c.emit(out, w.next, w.slide); err != nil {
		return err
	}
	w.next += w.slide
	n := 0
	for n < len(w.held) && w.held[n].time <= w.next-w.arg.window {
		w.c.evict()
		n++
	}
	w.held = slices.Delete(w.held, 0, n)
	return nil
}

// Finish implements stage.Finisher: at EOS the windows that still hold
// records are emitted. Later windows hold fewer batches, so the first one
// without records ends the drain.
func (w *windower) Finish(_ context.Context, out stage.Emitter) error {
	for w.holdsRecords() {
		if err := w.emit(out); err != nil {
			return err
		}
	}
	return nil
}

func (w *windower) holdsRecords() bool {
	for _, h := range w.held {
		if h.records > 0 {
			return true
		}
	}
	return false
}

// windowStateVersion is the version of the state a windowed stage writes.
const windowStateVersion = 1

// Snapshot implements stage.Snapshotter. The state is
//
//	uvarint  version (1)
//	uvarint  window, uvarint slide (ms, 0: one batch), as given
//	uvarint  batch interval in ms, 0 before the first batch (nothing follows)
//	varint   next output time, varint last batch time
//	uvarint  held batches H, then H times: varint time, uvarint records
//	frames   the contents' (see each stage)
func (w *windower) Snapshot(wr io.Writer) error {
	if w.open {
		return fmt.Errorf("checkpoint in the middle of batch %d (barriers come between whole batches)", w.last)
	}
	buf := binary.AppendUvarint(nil, windowStateVersion)
	buf = binary.AppendUvarint(buf, uint64(w.arg.window))
	buf = binary.AppendUvarint(buf, uint64(w.arg.slide))
	if !w.started {
		_, err := wr.Write(binary.AppendUvarint(buf, 0))
		return err
	}
	buf = binary.AppendUvarint(buf, uint64(w.interval))
	buf = binary.AppendVarint(buf, w.next)
	buf = binary.AppendVarint(buf, w.last)
	buf = binary.AppendUvarint(buf, uint64(len(w.held)))
	for _, h := range w.held {
		buf = binary.AppendVarint(buf, h.time)
		buf = binary.AppendUvarint(buf, uint64(h.records))
	}
	if _, err := wr.Write(buf); err != nil {
		return err
	}
	fw := frame.NewWriter(wr, frame.CodecNone, frame.DefaultMaxSize)
	return w.c.snapshot(fw)
}

// errBadWindowState is the error of a snapshot that cannot be restored.
var errBadWindowState = errors.New("malformed window state")

func badWindowState(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errBadWindowState}, args...)...)
}

// Restore implements stage.Snapshotter. It checks everything it reads, so
// that a torn or foreign snapshot is an error, not wrong windows.
func (w *windower) Restore(r io.Reader) error {
	br := bufio.NewReaderSize(r, 1<<20) // frame.NewReader reuses it
	u := func(what string) (int64, error) {
		x, err := binary.ReadUvarint(br)
		if err != nil || x > 1<<62 {
			return 0, badWindowState("%s unreadable (the snapshot is cut short or corrupt)", what)
		}
		return int64(x), nil
	}
	v := func(what string) (int64, error) {
		x, err := binary.ReadVarint(br)
		if err != nil {
			return 0, badWindowState("%s unreadable (the snapshot is cut short or corrupt)", what)
		}
		return x, nil
	}
	version, err := u("version")
	if err != nil {
		return err
	}
	if version != windowStateVersion {
		return badWindowState("version %d, want %d", version, windowStateVersion)
	}
	win, err := u("window")
	if err != nil {
		return err
	}
	slide, err := u("slide")
	if err != nil {
		return err
	}
	if win != w.arg.window || slide != w.arg.slide {
		return fmt.Errorf("the checkpoint holds windows of %s, not of %s (restart with the same window, or with --reset-state)", fmtWindowArg(windowArg{win, slide}), fmtWindowArg(w.arg))
	}
	iv, err := u("batch interval")
	if err != nil {
		return err
	}
	if iv == 0 {
		return windowStateEnd(br)
	}
	w.started, w.interval, w.slide = true, iv, w.arg.slide
	if w.slide == 0 {
		w.slide = iv
	}
	if w.arg.window%iv != 0 || w.slide%iv != 0 {
		return badWindowState("batch interval %s does not divide the window", fmtMS(iv))
	}
	if w.next, err = v("next output time"); err != nil {
		return err
	}
	if w.last, err = v("last batch time"); err != nil {
		return err
	}
	if w.next%w.slide != 0 || w.last >= w.next {
		return badWindowState("next output %d after batch %d with slide %s", w.next, w.last, fmtMS(w.slide))
	}
	n, err := u("held batch count")
	if err != nil {
		return err
	}
	for i := range n {
		var h heldBatch
		if h.time, err = v("held batch time"); err != nil {
			return err
		}
		if h.records, err = u("held batch records"); err != nil {
			return err
		}
		if h.time <= w.next-w.arg.window || h.time > w.last || (i > 0 && h.time <= w.held[i-1].time) {
			return badWindowState("held batch %d is not in the window before %d", h.time, w.next)
		}
		w.held = append(w.held, h)
	}
	fr := frame.NewReader(br, frame.DefaultMaxSize)
	if err := w.c.restore(fr, w.held); err != nil {
		return err
	}
	if _, err := fr.Next(); err != io.EOF {
		return badWindowState("data after the last held batch")
	}
	return nil
}

// windowStateEnd checks that nothing follows a snapshot's end.
func windowStateEnd(br *bufio.Reader) error {
	if _, err := br.ReadByte(); err != io.EOF {
		return badWindowState("data after the end")
	}
	return nil
}

func fmtWindowArg(a windowArg) string {
	if a.slide == 0 {
		return fmtMS(a.window)
	}
	return fmtMS(a.window) + "/" + fmtMS(a.slide)
}

// writeStateBatch writes a batch to a snapshot, in chunks when it is big.
func writeStateBatch(fw *frame.Writer, b *frame.Batch) error {
	return frame.Split(b, frame.DefaultChunk, fw.WriteBatch)
}

// readStateBatch reads the frames of one batch of time t from a snapshot,
// chunk by chunk, calling f with each.
func readStateBatch(fr *frame.Reader, t int64, f func(b *frame.Batch) error) error {
	for {
		fm, err := fr.Next()
		switch {
		case err == io.EOF:
			return badWindowState("batch %d missing (the snapshot is cut short)", t)
		case err != nil:
			return fmt.Errorf("%w: %w", errBadWindowState, err)
		case fm.Type != frame.TypeBatch || fm.Batch.Time != t:
			return badWindowState("found %s where batch %d belongs", windowFrameLabel(fm), t)
		}
		if err := f(fm.Batch); err != nil {
			return err
		}
		if !fm.Batch.More {
			return nil
		}
	}
}

func windowFrameLabel(f *frame.Frame) string {
	if f.Type == frame.TypeBatch {
		return fmt.Sprintf("batch %d", f.Batch.Time)
	}
	return f.Type.String()
}

// batchBuffer is the windowContents of a stage that keeps the window's
// records themselves (window): each held batch copied into one buffer of
// its own, partition by partition, reused once the batch leaves.
type batchBuffer struct {
	batches []*bufferedBatch // oldest first
	cur     *bufferedBatch   // the entering batch
	spare   *bufferedBatch
	starts  []int // scratch for seal
}

type bufferedBatch struct {
	time   int64
	nparts int
	data   []byte
	pend   []bufferedRecord // while the batch comes in
	recs   []frame.Record   // once sealed: the records by partition,
	parts  []frame.Partition
}

// bufferedRecord is a record of the entering batch as offsets into data,
// which may move while it grows.
type bufferedRecord struct {
	part                    int
	keyed                   bool
	keyStart, valStart, end int
}

func (bb *batchBuffer) add(b *frame.Batch, _ int64) error {
	c := bb.cur
	if c == nil {
		c = bb.spare
		bb.spare = nil
		if c == nil {
			c = &bufferedBatch{}
		}
		bb.cur = c
	}
	c.nparts = max(c.nparts, len(b.Partitions))
	for i := range b.Partitions {
		for _, r := range b.Partitions[i].Records {
			ks := len(c.data)
			c.data = append(c.data, r.Key...)
			vs := len(c.data)
			c.data = append(c.data, r.Value...)
			c.pend = append(c.pend, bufferedRecord{part: i, keyed: r.Keyed, keyStart: ks, valStart: vs, end: len(c.data)})
		}
	}
	return nil
}

func (bb *batchBuffer) seal(t int64) {
	c := bb.cur
	if c == nil { // a batch of no frames cannot come, but an empty one can
		c = &bufferedBatch{}
	}
	bb.cur = nil
	c.time = t
	// Partition p's records, in arrival order, then p+1's.
	starts := append(bb.starts[:0], make([]int, c.nparts+1)...)
	bb.starts = starts
	for _, p := range c.pend {
		starts[p.part+1]++
	}
	for i := 1; i < len(starts); i++ {
		starts[i] += starts[i-1]
	}
	if cap(c.recs) < len(c.pend) {
		c.recs = make([]frame.Record, len(c.pend))
	}
	c.recs = c.recs[:len(c.pend)]
	c.parts = slices.Grow(c.parts[:0], c.nparts)[:c.nparts]
	for i := range c.parts {
		c.parts[i].Records = c.recs[starts[i]:starts[i]:starts[i+1]]
	}
	for _, p := range c.pend {
		pr := &c.parts[p.part]
		key := c.data[p.keyStart:p.valStart:p.valStart]
		if !p.keyed {
			key = nil
		}
		pr.Records = append(pr.Records, frame.Record{Key: key, Value: c.data[p.valStart:p.end:p.end], Keyed: p.keyed})
	}
	c.pend = c.pend[:0]
	bb.batches = append(bb.batches, c)
}

func (bb *batchBuffer) evict() {
	old := bb.batches[0]
	bb.batches = slices.Delete(bb.batches, 0, 1)
	old.nparts, old.data = 0, old.data[:0]
	clear(old.recs)
	old.recs = old.recs[:0]
	bb.spare = old
}

// snapshot writes each held batch as BATCH frames of its time.
func (bb *batchBuffer) snapshot(fw *frame.Writer) error {
	for _, c := range bb.batches {
		if err := writeStateBatch(fw, &frame.Batch{Time: c.time, Partitions: c.parts}); err != nil {
			return err
		}
	}
	return nil
}

func (bb *batchBuffer) restore(fr *frame.Reader, held []heldBatch) error {
	for _, h := range held {
		n := int64(0)
		err := readStateBatch(fr, h.time, func(b *frame.Batch) error {
			n += int64(b.Len())
			return bb.add(b, 0)
		})
		if err != nil {
			return err
		}
		if n != h.records {
			return badWindowState("batch %d holds %d records, want %d", h.time, n, h.records)
		}
		bb.seal(h.time)
	}
	return nil
}

// heldRecordCount is the windowContents of a stage that needs only the
// held batches' record counts, which the windower keeps (countbywindow).
type heldRecordCount struct {
	w    *windower
	buf  [20]byte
	rec  [1]frame.Record
	part [1]frame.Partition
	out  frame.Batch
}

func (h *heldRecordCount) add(*frame.Batch, int64) error { return nil }
func (h *heldRecordCount) seal(int64)                    {}
func (h *heldRecordCount) evict()                        {}
func (h *heldRecordCount) snapshot(*frame.Writer) error  { return nil }
func (h *heldRecordCount) restore(*frame.Reader, []heldBatch) error {
	return nil
}

func (h *heldRecordCount) emit(out stage.Emitter, t, slide int64) error {
	n := int64(0)
	for _, b := range h.w.held {
		n += b.records
	}
	h.rec[0] = frame.Record{Value: strconv.AppendInt(h.buf[:0], n, 10)}
	h.part[0].Records = h.rec[:]
	h.out = frame.Batch{Time: t, Interval: slide, Partitions: h.part[:]}
	return out.Emit(&h.out)
}
