package source

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"dstream/lib/kafka"
	"dstream/lib/stage"
	"dstream/lib/text"
)

// Event time from Kafka record timestamps (produce --kafka --event-time
// timestamp): batch T holds the records whose Kafka timestamp (ms) is in
// [T-D, T), the rule of file event time (eventtime.go).
//
// The watermark is kept per partition, as Kafka Streams and Flink do: a
// partition's is the largest timestamp read from it, and the source's is
// the smallest of those of the partitions still being read. A partition
// whose reading has caught up (reached the high watermark of its last
// fetch) or ended (--until-caught-up) does not hold the others back; when
// every partition has caught up, the watermark is the largest timestamp
// read from any, so an idle topic does not stall the stream (the
// lateness still applies). Batch T goes out once the watermark is
// >= T + lateness, every batch time from the first on, empty ones too,
// in order; at the end of reading (--until-caught-up) every pending batch
// goes out. A stop (signal) sends none of the pending batches: a
// checkpoint holds their offsets, and a restart reads them again.
//
// The watermark moves after each record, so whether a record is late
// depends only on the records before it in its partition and on how far
// the others were read then: given data that is never later than the
// lateness, and no partition that caught up while records stamped earlier
// than the others' were still to come to it, the batches are the same in
// every run. Records wait in their
// batch per partition, in offset order, so a batch holds them by topic
// (--topic order), partition and offset, as in processing time.
//
// A partition read far ahead of a lagging one keeps its records in memory
// until the watermark reaches them: reading is not paused (no watermark
// alignment).
type kafkaEvent struct {
	k                  *Kafka
	interval, lateness int64

	wm     []int64 // per partition: the largest timestamp read, noTime before any
	caught []bool  // per partition: reading reached the high watermark
	w      int64   // the source's watermark
	idle   bool    // every partition caught up or ended: w is maxTs

	pending map[int64]*kafkaPending // batches not yet out
	last    *kafkaPending           // the batch of the last record, for the common case
	lastT   int64
	free    []*kafkaPending

	begun   bool  // a record was seen (or restored)
	emitted bool  // a batch went out (or the checkpoint's did)
	next    int64 // the next batch time to go out
	maxTs   int64 // the largest timestamp read
	maxT    int64 // the largest batch time holding a record

	late    *lateFile
	lateBuf []byte

	// After a restart from checkpoint T, or taking over a partition a
	// group member committed at its batch T (skipTo): per partition,
	// records below skip were read before batch T went out, so those of
	// batches up to T went out then (or were late): they are not sent
	// again.
	skip   []int64
	skipTo []int64
}

// kafkaPending is a batch not yet out: per partition, its records in
// offset order.
type kafkaPending struct{ parts [][]kafka.Record }

// noTime is the watermark of a partition nothing was read from.
const noTime = math.MinInt64

func (k *Kafka) runEvent(ctx context.Context, out stage.Emitter) error {
	var el *kafkaEventLog
	var rs eventResume
	from, caughtUp := k.cfg.From, k.cfg.UntilCaughtUp
	if cp := k.cfg.CP; cp != nil {
		el = &kafkaEventLog{cp: cp}
		cp.ext = el
		var err error
		if rs, err = readEventResume(cp, false); err != nil {
			return err
		}
		if rs.point != nil || rs.starts != nil {
			// The earliest and end offsets, to check the restored ones.
			from, caughtUp = kafka.From{Kind: kafka.FromEarliest}, true
		}
	}
	ranges, err := k.cfg.Conn.Ranges(ctx, from, caughtUp)
	if err != nil {
		return ctxErr(ctx, err)
	}
	k.setup(ranges, out)
	defer k.close()
	e := newKafkaEvent(k)
	if el != nil {
		el.e = e
	}
	if err := e.start(rs); err != nil {
		return err
	}
	copy(k.avail, k.pos)
	if err := e.openLate(); err != nil {
		return err
	}
	defer e.late.close()
	all := make([]int, len(ranges))
	for i := range ranges {
		all[i] = i
		ranges[i].Start = k.pos[i]
	}
	k.startReaders(ranges, all)
	e.setW() // partitions read to their end already are done
	for k.live > 0 || !k.cfg.UntilCaughtUp {
		select {
		case <-ctx.Done():
			// STOP: the pending batches are not sent; a checkpoint's held
			// offsets make a restart read them again.
			return ctx.Err()
		case f := <-k.ch:
			if err := e.receive(f); err != nil {
				return err
			}
		}
	}
	if err := e.finish(); err != nil {
		return err
	}
	return e.closeLate()
}

// openLate opens the --late file, if any, and makes it part of the
// checkpoints.
func (e *kafkaEvent) openLate() error {
	var err error
	if e.late, err = openLate(e.k.cfg.Late); err != nil {
		return err
	}
	if cp := e.k.cfg.CP; cp != nil && e.late != nil {
		cp.flushLate = e.late.w.Flush
		cp.lateBytes = func() int64 { return e.late.size }
	}
	return nil
}

// closeLate closes the --late file at the end of reading, saying how many
// records were late.
func (e *kafkaEvent) closeLate() error {
	if e.late == nil {
		return nil
	}
	if err := e.late.close(); err != nil {
		return err
	}
	e.k.cfg.Log.Info("late records", "count", e.late.n, "file", e.k.cfg.Late)
	return nil
}

// eventResume is where a run with a checkpoint directory resumes: after
// the committed checkpoint (point), or with none where the first run
// started (starts); neither in a first run.
type eventResume struct {
	point  *kafkaEventPoint
	starts []int64
}

func readEventResume(cp *Checkpoints, group bool) (eventResume, error) {
	var rs eventResume
	var err error
	if cp.restarted {
		if rs.point, err = parseEventPoint(cp.extra, group); err != nil {
			return rs, fmt.Errorf("restoring the checkpoint of batch %d: %v; remove the checkpoint directory to start the pipeline over", cp.skipTo, err)
		}
		return rs, nil
	}
	rs.starts, err = readKafkaStart(cp)
	return rs, err
}

// start sets where every partition's reading starts: at --from in a
// first run (noted in kafka-start when checkpointing), else as rs says,
// checked against the offsets Kafka has (the ranges' Start and End).
func (e *kafkaEvent) start(rs eventResume) error {
	k := e.k
	n := len(k.ranges)
	starts := rs.starts
	if rs.point != nil {
		if starts = rs.point.held; len(starts) != n {
			return fmt.Errorf("restoring the checkpoint of batch %d: its record holds the offsets of %d partitions, the topics have %d: remove the checkpoint directory to start the pipeline over", k.cfg.CP.skipTo, len(starts), n)
		}
		e.restore(k.cfg.CP.skipTo, rs.point)
	} else if starts != nil && len(starts) != n {
		return fmt.Errorf("%s: the offsets of %d partitions, the topics have %d: remove the checkpoint directory to start the pipeline over", filepath.Join(k.cfg.CP.Dir.Path, kafkaStartName), len(starts), n)
	}
	for i, r := range k.ranges {
		k.pos[i] = r.Start
		if starts == nil {
			continue
		}
		var err error
		if k.pos[i], err = k.resumeAt(i, starts[i], r.Start, r.End); err != nil {
			return err
		}
		if !k.cfg.UntilCaughtUp {
			k.ranges[i].End = -1
		}
	}
	if starts == nil && k.cfg.CP != nil {
		return writeKafkaStart(k.cfg.CP, k.pos)
	}
	return nil
}

// newKafkaEvent returns the event-time state of k, set up.
func newKafkaEvent(k *Kafka) *kafkaEvent {
	n := len(k.ranges)
	e := &kafkaEvent{
		k: k, interval: k.cfg.Interval, lateness: k.cfg.Lateness,
		wm: make([]int64, n), caught: make([]bool, n), w: noTime,
		pending: map[int64]*kafkaPending{}, maxTs: noTime,
		skip: make([]int64, n), skipTo: make([]int64, n),
	}
	for i := range e.wm {
		e.wm[i] = noTime
	}
	return e
}

// restore starts where checkpoint t left off: batches up to t went out.
func (e *kafkaEvent) restore(t int64, p *kafkaEventPoint) {
	for i := range p.read {
		e.skipFrom(i, p.read[i], t, p.wm[i])
	}
	e.begun, e.emitted, e.next, e.maxT = true, true, t+e.interval, t
}

// skipFrom sets partition i to skip the records below read whose batch
// is t or before (they went out), and its watermark to wm (-1: none).
func (e *kafkaEvent) skipFrom(i int, read, t, wm int64) {
	e.skip[i], e.skipTo[i] = read, t
	if wm >= 0 {
		e.wm[i] = max(e.wm[i], wm)
		e.maxTs = max(e.maxTs, wm)
	}
}

// drop forgets partition i: its records waiting for a batch (another
// member of the group reads them again) and its watermark.
func (e *kafkaEvent) drop(i int) {
	for _, b := range e.pending {
		clear(b.parts[i])
		b.parts[i] = b.parts[i][:0]
	}
	e.wm[i], e.caught[i], e.skip[i], e.skipTo[i] = noTime, false, 0, 0
}

// receive takes in what a reader sent.
func (e *kafkaEvent) receive(f kafka.Fetched) error {
	k, i := e.k, f.Index
	switch {
	case f.Err != nil:
		return f.Err
	case f.Done:
		k.live--
		k.done[i] = true
		e.setW()
		return e.advance()
	case f.Lost:
		k.warnLost(i, f.Next)
		k.avail[i] = f.Next // it has no records nor high watermark
		return nil
	}
	if len(f.Records) > 0 && e.caught[i] {
		// Not idle after all: it holds the others back again.
		e.caught[i] = false
		e.setW()
	}
	// The watermark moves after each record, so whether one is late does
	// not depend on where a fetch ended.
	for j := range f.Records {
		if err := e.put(i, &f.Records[j]); err != nil {
			return err
		}
		// Read to here: a batch going out now logs it (see held).
		k.avail[i] = f.Records[j].Offset + 1
		if err := e.advance(); err != nil {
			return err
		}
	}
	k.avail[i] = f.Next
	if c := f.HighWatermark >= 0 && f.Next >= f.HighWatermark; c != e.caught[i] {
		e.caught[i] = c
		e.setW()
	}
	return e.advance()
}

// watermark is the smallest watermark of the partitions being read, or
// when every one has caught up (or ended) the largest timestamp read.
// idle tells which.
func (e *kafkaEvent) watermark() (w int64, idle bool) {
	w, idle = math.MaxInt64, true
	for i, pw := range e.wm {
		if !e.caught[i] && !e.k.done[i] {
			w, idle = min(w, pw), false
		}
	}
	if idle {
		return e.maxTs, true
	}
	return w, false
}

// put puts record r of partition i in its batch, or in the --late file,
// and moves the watermarks; advance then sends the batches it passed.
func (e *kafkaEvent) put(i int, r *kafka.Record) error {
	ts := r.Time
	if ts < 0 {
		rg := e.k.ranges[i]
		return fmt.Errorf("topic %s partition %d offset %d: the record has no timestamp (%d), which --event-time timestamp batches by", rg.Topic, rg.Partition, r.Offset, ts)
	}
	if ts > e.wm[i] {
		// The source's watermark moves only when partition i held it back,
		// or every partition is idle (it is then the largest timestamp).
		old := e.wm[i]
		e.wm[i] = ts
		if e.idle || (!e.caught[i] && !e.k.done[i] && old == e.w) {
			defer e.setW() // once maxTs is set too
		}
	}
	t := batchOf(ts, e.interval)
	if r.Offset < e.skip[i] && t <= e.skipTo[i] {
		return nil // out (or late) before the restart
	}
	switch {
	case !e.begun:
		e.begun, e.next, e.maxT = true, t, t
	case t < e.next:
		if e.emitted {
			return e.lateRecord(i, r, t)
		}
		e.next = t // nothing out yet: the stream may still start earlier
	}
	if ts > e.maxTs {
		if (ts-e.next)/e.interval > maxGap {
			rg := e.k.ranges[i]
			return fmt.Errorf("topic %s partition %d offset %d: time %d is %d batches after batch %d", rg.Topic, rg.Partition, r.Offset, ts, (ts-e.next)/e.interval, e.next)
		}
		e.maxTs = ts
	}
	e.maxT = max(e.maxT, t)
	b := e.last
	if b == nil || e.lastT != t {
		if b = e.pending[t]; b == nil {
			b = e.newPending()
			e.pending[t] = b
		}
		e.last, e.lastT = b, t
	}
	b.parts[i] = append(b.parts[i], *r)
	return nil
}

// setW sets the watermark after a partition's watermark or state changed.
func (e *kafkaEvent) setW() { e.w, e.idle = e.watermark() }

// advance sends the batches the watermark has passed.
func (e *kafkaEvent) advance() error {
	for e.begun && e.w != noTime && e.next+e.lateness <= e.w {
		if err := e.emit(); err != nil {
			return err
		}
	}
	return nil
}

// finish sends every pending batch, at the end of reading.
func (e *kafkaEvent) finish() error {
	for e.begun && e.next <= e.maxT {
		if err := e.emit(); err != nil {
			return err
		}
	}
	return nil
}

// emit sends batch e.next, empty when no record fell in it: partition
// by partition, each in offset order.
func (e *kafkaEvent) emit() error {
	k, t := e.k, e.next
	k.p.next = t
	if b := e.pending[t]; b != nil {
		for i, recs := range b.parts {
			for j := range recs {
				if err := k.add(i, &recs[j]); err != nil {
					return err
				}
			}
			clear(recs) // the fetch buffers can go
			b.parts[i] = recs[:0]
		}
		delete(e.pending, t)
		e.free = append(e.free, b)
		if e.last == b {
			e.last = nil
		}
	}
	e.next += e.interval
	e.emitted = true
	return k.p.emit()
}

func (e *kafkaEvent) newPending() *kafkaPending {
	if n := len(e.free); n > 0 {
		b := e.free[n-1]
		e.free = e.free[:n-1]
		return b
	}
	return &kafkaPending{parts: make([][]kafka.Record, len(e.wm))}
}

// lateRecord handles a record of batch t, which went out: a line of
// --late FILE, or without it the error the file mode gives.
func (e *kafkaEvent) lateRecord(i int, r *kafka.Record, t int64) error {
	k := e.k
	if e.late == nil {
		rg := k.ranges[i]
		return fmt.Errorf("topic %s partition %d offset %d: late record at time %d: %v (raise --lateness, or give --late FILE to keep late records)", rg.Topic, rg.Partition, r.Offset, r.Time, &lateError{t: t, next: e.next})
	}
	// One JSON line per record, naming where it was read: a Kafka value
	// may hold newlines, so the record as is could not be one line.
	b := append(e.lateBuf[:0], k.partStr[i]...)
	b = strconv.AppendInt(b, r.Offset, 10)
	b = append(b, `,"timestamp":`...)
	b = strconv.AppendInt(b, r.Time, 10)
	b = append(b, `,"key":`...)
	if r.Keyed {
		b = text.AppendJSONString(b, r.Key)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"value":`...)
	if bytes.ContainsAny(r.Value, "\r\n") {
		b = text.AppendJSONString(b, r.Value)
	} else {
		b = text.AppendJSON(b, r.Value)
	}
	b = append(b, '}')
	e.lateBuf = b
	return e.late.write(b)
}

// held is where partition i must be read again from for the batches not
// yet out: its lowest offset waiting in them, or where reading stands.
func (e *kafkaEvent) held(i int) int64 {
	h := e.k.avail[i]
	for _, b := range e.pending {
		if len(b.parts[i]) > 0 {
			h = min(h, b.parts[i][0].Offset)
		}
	}
	return h
}

// kafkaEventLog is the checkpoint extension of event time (see
// kafka_checkpoint.go): it keeps, for the last batch that went out, what
// its checkpoint's record must hold.
type kafkaEventLog struct {
	cp   *Checkpoints
	e    *kafkaEvent
	time int64
	rec  []byte
}

// kafkaEventPoint is where event time stood when a batch went out.
type kafkaEventPoint struct {
	held, read, wm []int64
}

// logBoundary implements cpExt: the state as batch b goes out.
func (l *kafkaEventLog) logBoundary(b boundary) error {
	e := l.e
	l.time = b.time
	r := l.rec[:0]
	for list := range 3 {
		if list > 0 {
			r = append(r, ' ')
		}
		for i := range e.wm {
			if i > 0 {
				r = append(r, ',')
			}
			var v int64
			switch list {
			case 0:
				v = e.held(i)
			case 1:
				v = e.k.avail[i]
			default:
				v = max(e.wm[i], -1)
			}
			r = strconv.AppendInt(r, v, 10)
		}
	}
	l.rec = r
	return nil
}

func (l *kafkaEventLog) sync() error { return nil }

// recordExtra implements cpExt: "H1,...,Hn R1,...,Rn W1,...,Wn", the
// held-from and read-to offsets and the watermarks (-1: none) as batch t
// went out.
func (l *kafkaEventLog) recordExtra(t int64) (string, error) {
	if l.rec == nil || l.time != t {
		return "", fmt.Errorf("internal error: batch %d is not the last one out (%d)", t, l.time)
	}
	return string(l.rec), nil
}

func (l *kafkaEventLog) committed() error { return nil }
func (l *kafkaEventLog) close() error     { return nil }

// kafkaStartName is the file of the offsets the first run started at
// (see kafka_checkpoint.go).
const kafkaStartName = "kafka-start"

// readKafkaStart reads kafka-start: nil when there is none.
func readKafkaStart(cp *Checkpoints) ([]int64, error) {
	b, err := cp.Dir.ReadFile(kafkaStartName)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	offs, err := parseOffsets(strings.Fields(string(b)), false)
	if err != nil || len(offs) == 0 {
		return nil, fmt.Errorf("%s: %q is not the offsets the first run started at (want O1 ... On): remove the checkpoint directory to start the pipeline over", filepath.Join(cp.Dir.Path, kafkaStartName), b)
	}
	return offs, nil
}

// writeKafkaStart writes kafka-start, before reading begins.
func writeKafkaStart(cp *Checkpoints, pos []int64) error {
	var b []byte
	for i, o := range pos {
		if i > 0 {
			b = append(b, ' ')
		}
		b = strconv.AppendInt(b, o, 10)
	}
	return cp.Dir.WriteFile(kafkaStartName, append(b, '\n'))
}

// parseEventPoint parses a checkpoint record's extra (recordExtra).
func parseEventPoint(s string, group bool) (*kafkaEventPoint, error) {
	f := strings.Fields(s)
	bad := fmt.Errorf("%q is not an event-time position (want HELD,... READ,... WATERMARK,...): was the checkpoint taken without --event-time?", s)
	if len(f) != 3 {
		return nil, bad
	}
	var lists [3][]int64
	for j, field := range f {
		for _, x := range strings.Split(field, ",") {
			v, err := strconv.ParseInt(x, 10, 64)
			if err != nil || v < -1 || (v < 0 && j < 2 && !group) {
				return nil, bad
			}
			lists[j] = append(lists[j], v)
		}
	}
	if len(lists[1]) != len(lists[0]) || len(lists[2]) != len(lists[0]) {
		return nil, bad
	}
	return &kafkaEventPoint{held: lists[0], read: lists[1], wm: lists[2]}, nil
}
