package stage

// The runtime of stages with more than one input (union, join, cogroup).
//
// Each input is read by its own goroutine, which gathers a batch's chunks
// into one whole batch and queues it, packed (see queued: about its bytes).
// A queue holds at most --max-skew events (batches, barriers): an input
// that races ahead then blocks, and its upstream with it, instead of
// growing without limit. The main loop
// takes the head of every queue and acts on them together:
//
//   - STOP at the head of any queue: STOP downstream at once.
//   - a read error on any input: exit 1 at once.
//   - EOS on every input: finish and write EOS. EOS on some inputs only:
//     the output ends there too (EOS), with a warning that names the input
//     that ended and the batches of the others left unread. Waiting for the
//     others could hang forever (a live source never ends) and treating the
//     ended input as empty would make up data it never sent.
//   - BARRIER n on every input: snapshot, then forward BARRIER n (Flink's
//     barrier alignment). A barrier on some inputs while others go on with
//     batches is an error: alignment by batch time needs them after the
//     same batches.
//   - a batch on every input: same interval, same time, else an error that
//     names both. An input that has sent no batch yet counts as empty
//     before its first one, so sources started a moment apart (one batch
//     boundary between them) still join.

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync"
	"time"

	"dstream/lib/frame"

	"github.com/urfave/cli/v2"
)

// FlagMaxSkew is the runtime flag of a KindMulti stage that bounds how many
// batches one input may be read ahead of the others.
const FlagMaxSkew = "max-skew"

// DefaultMaxSkew is --max-skew's default: ten whole batches per input.
const DefaultMaxSkew = 10

func multiFlags(s *Spec) []cli.Flag {
	if s.Kind != KindMulti {
		return nil
	}
	return []cli.Flag{&cli.IntFlag{Name: FlagMaxSkew, Value: DefaultMaxSkew, Usage: "how many whole batches (`N`) an input may be read ahead of the others before it is blocked; memory grows with it", Category: "runtime"}}
}

// multiEvent is one input's next item: a whole batch, a barrier, EOS or
// STOP; err is a read error, which ends the run.
type multiEvent struct {
	in      int
	typ     frame.Type
	batch   *frame.Batch
	q       *queued // batch's records and memory, recycled once processed
	barrier frame.Barrier
	err     error
	clean   bool // the input ended right after its EOS or STOP
}

type multiInput struct {
	name    string
	stdin   io.Reader // input 0; the others are opened by name
	tokens  chan struct{}
	free    chan *queued // processed batches' memory, for the reader to reuse
	queue   []multiEvent
	started bool // a batch of it has been processed
	late    bool // it started later than another input (logged)
	ending  bool // delivered EOS or STOP; its end is not yet confirmed
	ended   bool // its end after EOS or STOP is confirmed

	mu     sync.Mutex
	file   *os.File
	closed bool
}

type multiRun struct {
	operatorRun
	m      MultiOperator
	ins    []*multiInput
	events chan multiEvent
	quit   chan struct{}
}

func (r *multiRun) run() error {
	skew := r.ctx.Int(FlagMaxSkew)
	if skew < 1 {
		return Usagef("--%s %d: want a whole number of batches, 1 or more", FlagMaxSkew, skew)
	}
	r.ins = []*multiInput{{name: "stdin", stdin: r.sio.Stdin}}
	for _, name := range r.m.Inputs() {
		// Stat, not Open: opening a named pipe waits for its writer,
		// and a missing file should fail now, not when stdin has data.
		if _, err := os.Stat(name); err != nil {
			var pe *fs.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			return fmt.Errorf("open %s: %w", name, err)
		}
		r.ins = append(r.ins, &multiInput{name: name})
	}
	if err := r.restore(); err != nil {
		return err
	}
	r.events = make(chan multiEvent)
	r.quit = make(chan struct{})
	defer func() {
		close(r.quit)
		for _, in := range r.ins {
			in.close() // releases a reader blocked on a pipe
		}
	}()
	for i, in := range r.ins {
		in.tokens = make(chan struct{}, skew)
		in.free = make(chan *queued, skew+2)
		for range skew {
			in.tokens <- struct{}{}
		}
		go r.read(i, in)
	}
	ctx := context.Background()
	var grace <-chan time.Time
	for {
		done, err := r.step(ctx)
		if err != nil {
			return err
		}
		if done {
			if grace != nil {
				return nil // stopping on a signal: the upstream is not waited for
			}
			return r.checkEnds()
		}
		select {
		case ev := <-r.events:
			if ev.err != nil {
				return ev.err
			}
			in := r.ins[ev.in]
			if ev.clean {
				in.ended = true
				continue
			}
			in.queue = append(in.queue, ev)
		case sig := <-r.sio.Signals:
			if grace != nil {
				return hardStop(sig)
			}
			r.ctx.Log.Info("signal received; finishing when the source's STOP arrives", "signal", sig.String(), "grace", StopGrace.String())
			grace = r.sio.Clock.After(StopGrace)
		case <-grace:
			r.ctx.Log.Warn("no STOP from upstream within the grace period; stopping here (batches after the last checkpoint are replayed on restart)")
			return r.out.WriteStop()
		}
	}
}

// checkEnds waits, once the output has ended, until every input that
// delivered EOS or STOP has ended right after it: frames after them (two
// captured streams concatenated) would be lost. The inputs a stage ended
// without (see endEarly) are not waited for.
func (r *multiRun) checkEnds() error {
	pending := 0
	for _, in := range r.ins {
		if !in.ended && len(in.queue) > 0 && (in.queue[0].typ == frame.TypeEOS || in.queue[0].typ == frame.TypeStop) {
			in.ending = true
			pending++
		}
	}
	for pending > 0 {
		select {
		case ev := <-r.events:
			in := r.ins[ev.in]
			switch {
			case !in.ending:
				// An input the output ended without: not read further.
			case ev.err != nil:
				return ev.err
			case ev.clean:
				in.ending = false
				pending--
			}
		case <-r.sio.Signals:
			return nil // done already; an upstream that stays open is not waited for
		}
	}
	return nil
}

func (in *multiInput) setFile(f *os.File) bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.closed {
		f.Close()
		return false
	}
	in.file = f
	return true
}

func (in *multiInput) close() {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.closed = true
	if in.file != nil {
		in.file.Close()
	}
}

// read is input i's goroutine: it sends whole batches and control frames,
// each after taking a token, so at most --max-skew wait in the queue.
func (r *multiRun) read(i int, in *multiInput) {
	send := func(ev multiEvent) bool {
		ev.in = i
		if ev.err == nil && !ev.clean {
			select {
			case <-in.tokens:
			case <-r.quit:
				return false
			}
		}
		select {
		case r.events <- ev:
			return true
		case <-r.quit:
			return false
		}
	}
	fail := func(format string, args ...any) {
		send(multiEvent{err: fmt.Errorf(format, args...)})
	}
	src := in.stdin
	if src == nil {
		f, err := os.Open(in.name)
		if err != nil {
			fail("%w", err)
			return
		}
		if !in.setFile(f) {
			return
		}
		src = f
	}
	rd := frame.NewReader(src, r.ctx.MaxFrameSize)
	var acc *queued // the chunks so far of a batch in chunks
	for {
		f, err := rd.Next()
		if err == io.EOF {
			fail("%s ended without EOS or STOP: the stage writing it stopped early (see its error)", in.name)
			return
		}
		if err != nil {
			fail("reading %s: %w", in.name, err)
			return
		}
		if acc != nil && (f.Type != frame.TypeBatch || f.Batch.Time != acc.b.Time) {
			fail("%s: batch %d ended without its last chunk: %s came next (the upstream stage broke the chunk protocol)", in.name, acc.b.Time, frameName(f))
			return
		}
		ev := multiEvent{typ: f.Type, barrier: f.Barrier}
		if f.Type == frame.TypeBatch {
			if acc == nil {
				select {
				case acc = <-in.free:
				default:
					acc = &queued{}
				}
				acc.reset(f.Batch)
			} else if len(f.Batch.Partitions) != len(acc.b.Partitions) {
				fail("%s: batch %d: a chunk of %d partitions after chunks of %d (the upstream stage broke the chunk protocol)", in.name, acc.b.Time, len(f.Batch.Partitions), len(acc.b.Partitions))
				return
			}
			// A copy even of a batch in one frame: the reader reuses its
			// buffers while the batch waits for the other inputs.
			acc.add(f.Batch)
			if f.Batch.More {
				continue
			}
			ev.batch, ev.q, acc = &acc.b, acc, nil
		}
		if !send(ev) {
			return
		}
		if f.Type == frame.TypeEOS || f.Type == frame.TypeStop {
			at := rd.Offset()
			switch f, err := rd.Next(); {
			case err == io.EOF:
				send(multiEvent{clean: true})
			case err != nil:
				fail("reading %s after %s: %w", in.name, ev.typ, err)
			default:
				fail("%s: %s after %s at byte offset %d: the input holds more than one stream (replay captured streams with 'produce --frames')", in.name, frameName(f), ev.typ, at)
			}
			return
		}
	}
}

// pop removes input i's head and lets its reader queue one more. A
// processed batch's memory goes back to the reader: recycled, its
// capacity saves the allocations (and the garbage collector's work) of
// the next batches of the same size.
func (r *multiRun) pop(i int) {
	in := r.ins[i]
	if q := in.queue[0].q; q != nil {
		select {
		case in.free <- q:
		default:
		}
	}
	in.queue = append(in.queue[:0], in.queue[1:]...)
	in.tokens <- struct{}{}
}

// queued is a batch gathered from its chunks, waiting for the other
// inputs. Its records are kept packed in raw (each a uvarint key tag, 0 for
// no key else its length + 1, the key, a uvarint value length, the value):
// that costs about their bytes, where decoded records cost 56 bytes more
// each (frame.Record), so --max-skew batches in a queue cost little more
// than their size. unpack decodes the batch, its records pointing into raw,
// just before it is processed. Its memory is recycled from batch to batch.
type queued struct {
	b    frame.Batch // Time and Interval from the start, records once unpacked
	raw  []byte
	runs []chunkRun // raw's records, run by run
}

// chunkRun is n records of partition part, from one chunk.
type chunkRun struct{ part, n int }

func (q *queued) reset(like *frame.Batch) {
	q.b.Time, q.b.Interval, q.b.More = like.Time, like.Interval, false
	n := len(like.Partitions)
	if cap(q.b.Partitions) < n {
		q.b.Partitions = append(q.b.Partitions[:cap(q.b.Partitions)], make([]frame.Partition, n-cap(q.b.Partitions))...)
	}
	q.b.Partitions = q.b.Partitions[:n]
	for p := range q.b.Partitions {
		q.b.Partitions[p].Records = q.b.Partitions[p].Records[:0]
	}
	q.raw, q.runs = q.raw[:0], q.runs[:0]
}

// add packs a chunk's records.
func (q *queued) add(c *frame.Batch) {
	for p := range c.Partitions {
		recs := c.Partitions[p].Records
		if len(recs) == 0 {
			continue
		}
		q.runs = append(q.runs, chunkRun{p, len(recs)})
		for _, r := range recs {
			tag := uint64(0)
			if r.Keyed {
				tag = uint64(len(r.Key)) + 1
			}
			q.raw = binary.AppendUvarint(q.raw, tag)
			q.raw = append(q.raw, r.Key...)
			q.raw = binary.AppendUvarint(q.raw, uint64(len(r.Value)))
			q.raw = append(q.raw, r.Value...)
		}
	}
}

// unpack returns the whole batch; its records are valid until q is reset.
func (q *queued) unpack() *frame.Batch {
	parts := q.b.Partitions
	count := make([]int, len(parts))
	for _, r := range q.runs {
		count[r.part] += r.n
	}
	for p := range parts {
		if cap(parts[p].Records) < count[p] {
			parts[p].Records = make([]frame.Record, 0, count[p])
		}
		parts[p].Records = parts[p].Records[:0]
	}
	raw := q.raw
	next := func() uint64 { // raw is ours and well formed: no checks
		v, n := binary.Uvarint(raw)
		raw = raw[n:]
		return v
	}
	for _, r := range q.runs {
		recs := parts[r.part].Records
		for range r.n {
			var rec frame.Record
			if tag := next(); tag > 0 {
				rec.Keyed, rec.Key, raw = true, raw[:tag-1:tag-1], raw[tag-1:]
			}
			n := next()
			rec.Value, raw = raw[:n:n], raw[n:]
			recs = append(recs, rec)
		}
		parts[r.part].Records = recs
	}
	return &q.b
}

// step acts on the queues' heads as long as it can; done is true when the
// output has ended (EOS or STOP written).
func (r *multiRun) step(ctx context.Context) (done bool, err error) {
	emit := frameEmitter{r.out}
	for {
		for _, in := range r.ins {
			if len(in.queue) > 0 && in.queue[0].typ == frame.TypeStop {
				return true, r.out.WriteStop()
			}
		}
		for _, in := range r.ins {
			if len(in.queue) == 0 {
				return false, nil
			}
		}
		if ended := r.firstOf(frame.TypeEOS); ended >= 0 {
			r.endEarly(ended)
			if fin, ok := r.st.(Finisher); ok {
				if err := fin.Finish(ctx, emit); err != nil {
					return true, err
				}
			}
			return true, r.out.WriteEOS()
		}
		if b := r.firstOf(frame.TypeBarrier); b >= 0 {
			if err := r.alignBarrier(ctx, b); err != nil {
				return true, err
			}
			continue
		}
		if err := r.alignBatch(ctx, emit); err != nil {
			return true, err
		}
	}
}

// firstOf returns the first input whose head is of type t, or -1.
func (r *multiRun) firstOf(t frame.Type) int {
	for i, in := range r.ins {
		if in.queue[0].typ == t {
			return i
		}
	}
	return -1
}

// endEarly logs, when some input is not at EOS, that the output ends with
// the input that ended, and what of the others is left unread.
func (r *multiRun) endEarly(ended int) {
	var unread []any
	for i, in := range r.ins {
		if in.queue[0].typ == frame.TypeEOS {
			continue
		}
		n, first, last := 0, int64(0), int64(0)
		for _, ev := range in.queue {
			if ev.typ == frame.TypeBatch {
				if n == 0 {
					first = ev.batch.Time
				}
				n, last = n+1, ev.batch.Time
			}
		}
		// How many were read ahead depends on timing; the rest is
		// never read, so its size is unknown.
		what := "its later frames, unread"
		switch {
		case n == 1:
			what = fmt.Sprintf("1 batch read ahead (%d) and the rest of its input, unread", first)
		case n > 1:
			what = fmt.Sprintf("%d batches read ahead (%d to %d) and the rest of its input, unread", n, first, last)
		}
		unread = append(unread, fmt.Sprintf("input%d", i), in.name+": "+what)
	}
	if unread == nil {
		return
	}
	r.ctx.Log.Warn("an input ended before the others: the output ends here, at EOS, and the other inputs' later batches are dropped",
		append([]any{"ended", r.ins[ended].name}, unread...)...)
}

// alignBarrier handles a barrier at the head of input b: every input must
// have the same one there.
func (r *multiRun) alignBarrier(ctx context.Context, b int) error {
	want := r.ins[b].queue[0].barrier
	for _, in := range r.ins {
		h := in.queue[0]
		switch {
		case h.typ == frame.TypeBatch:
			return fmt.Errorf("checkpoint barriers not aligned: %s sent BARRIER %d (after batch %d), but %s went on with batch %d (the inputs need their barriers after the same batches: feed them from one source, or give their sources the same --checkpoint-every)",
				r.ins[b].name, want.ID, want.Time, in.name, h.batch.Time)
		case h.barrier != want:
			return fmt.Errorf("checkpoint barriers differ: %s sent BARRIER %d (after batch %d), %s sent BARRIER %d (after batch %d) (the inputs need the same barriers: feed them from one source, or give their sources the same --checkpoint-every)",
				r.ins[b].name, want.ID, want.Time, in.name, h.barrier.ID, h.barrier.Time)
		}
	}
	for i := range r.ins {
		r.pop(i)
	}
	return r.barrier(ctx, want)
}

// alignBatch processes the batches of the earliest time at the heads.
func (r *multiRun) alignBatch(ctx context.Context, emit Emitter) error {
	lo := 0
	for i, in := range r.ins {
		h, l := in.queue[0].batch, r.ins[lo].queue[0].batch
		if h.Interval != l.Interval {
			return fmt.Errorf("batch intervals differ: %s's batch %d has an interval of %dms, %s's batch %d one of %dms (every input must have the same batch interval)",
				r.ins[lo].name, l.Time, l.Interval, in.name, h.Time, h.Interval)
		}
		if h.Time < l.Time {
			lo = i
		}
	}
	t := r.ins[lo].queue[0].batch
	batches := make([]*frame.Batch, len(r.ins))
	var take []int
	for i, in := range r.ins {
		h := in.queue[0].batch
		switch {
		case h.Time == t.Time:
			batches[i] = in.queue[0].q.unpack()
			take = append(take, i)
		case !in.started:
			// Sources started a moment apart: before its first batch an
			// input has no data.
			if !in.late {
				in.late = true
				r.ctx.Log.Info("an input starts later than another: it counts as empty before its first batch", "input", in.name, "first_batch", h.Time, "from", t.Time)
			}
			batches[i] = &frame.Batch{Time: t.Time, Interval: t.Interval, Partitions: []frame.Partition{{}}}
		default:
			return fmt.Errorf("batch times differ: %s's next batch is %d, %s's is %d (every input must deliver every batch time, as dstream's sources do)",
				r.ins[lo].name, t.Time, in.name, h.Time)
		}
	}
	if err := r.m.ProcessAligned(ctx, batches, emit); err != nil {
		return err
	}
	for _, i := range take {
		r.ins[i].started = true
		r.pop(i)
	}
	return nil
}
