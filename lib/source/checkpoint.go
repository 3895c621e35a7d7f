package source

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"dstream/lib/checkpoint"
	"dstream/lib/frame"
	"dstream/lib/stage"
)

// A source takes part in checkpoints (DESIGN.md, "Checkpoints and
// recovery") by rewinding: on a restart it emits again, from the start of
// its input, exactly the batches it emitted before, and suppresses those
// the committed checkpoint covers. For the deterministic back ends (files
// by event time, a queue, frame files, --generate --no-delay) the same
// input gives the same batches by construction. Processing-time batches
// depend on the wall clock, so procTime writes each batch's boundary (its
// time and the number of records read before its end) to a log before the
// batch goes out, and a restart cuts the batches at the logged boundaries
// until the log is used up.
//
// Files in the source's checkpoint directory (DIR/<id>/):
//
//	source-N     checkpoint N: the time of its last batch and the size of
//	             the --late file then, "T LATESIZE\n", and produce's
//	             configuration (Config), "ARGS\n"
//	batches.log  procTime's boundaries, one "T COUNT\n" line per batch
//	wal/         with --wal, the write-ahead log of an input that cannot
//	             be read again (wal.go): the input read again at a restart
//
// Re-reading the input from its start costs a pass over what was read
// before the checkpoint (about a second per GB); in exchange a source
// keeps no offsets that a change of the files would invalidate silently:
// a file that shrank ends the replay with an error.
//
// With a write-ahead log the input read again may start after its first
// record, where the log's oldest kept segment starts (see WAL): the
// boundaries are then counted from there (base), only those from the
// committed checkpoint's batch on are kept (the records before it make
// that one batch, which is not sent), and batches.log is cut back to them
// at a restart and, in a long run, as checkpoints are committed. The log
// is fsynced before each checkpoint's record is written.
//
// A back end that can seek (Kafka, kafka_checkpoint.go) logs what each
// batch took in its own log instead of batches.log, through ext: it adds
// its position to source-N's first line ("T LATESIZE POSITION"), which
// Open hands back in extra, and cuts its log back as checkpoints are
// committed.
type Checkpoints struct {
	Dir   *checkpoint.Dir
	Every int // whole batches between barriers; >= 1
	// Late is the --late FILE, if any: appended to as the source reads, so
	// its size is part of a checkpoint, cut back to at a restart.
	Late string
	// Config is produce's arguments and the flags that shape its batches:
	// a restart with another input or batching would leave out the wrong
	// batches, so it is refused.
	Config string

	flushLate func() error // set by the back end that writes Late
	lateBytes func() int64 // likewise: Late's size, what is buffered included
	skipping  bool         // emitting again what the committed checkpoint covers
	lateSize  int64        // Late's size at the committed checkpoint

	skipTo    int64  // batches up to this time are committed: emitted again, not sent
	restarted bool   // a committed checkpoint was restored
	nextID    uint64 // the next barrier's number
	bounds    []boundary
	log       *os.File // batches.log, for appending
	logDirty  bool     // written since the last sync

	// The write-ahead log (--wal), set by WAL.Open: synced before each
	// checkpoint's record is written, collected once one is committed.
	wal       *WAL
	base      int64      // records of the input before the first one read again: bounds count from there
	recent    []boundary // with a WAL: the boundaries from the committed checkpoint's batch on, counted from the input's start
	logLines  int        // with a WAL: the lines batches.log holds
	collected uint64     // the committed checkpoint the WAL was last collected for

	ext   cpExt  // a seeking back end's log, when set: batches.log is not written
	extra string // what ext added to the committed checkpoint's record
}

// cpExt is what a back end that keeps its own batch log (instead of
// batches.log) does at the checkpoint's steps.
type cpExt interface {
	logBoundary(b boundary) error        // before batch b's last chunk goes out
	sync() error                         // before a checkpoint's record is written
	recordExtra(t int64) (string, error) // the position after batch t, for source-N
	committed() error                    // after a checkpoint's record is written
	close() error
}

// logCompact is how many boundaries before the committed checkpoint's
// batch batches.log may hold before it is cut back (with a WAL).
const logCompact = 4096

// boundary is the end of a processing-time batch: its time, and how many
// records had been read when it ended.
type boundary struct {
	time  int64
	count int64
}

const (
	batchLogName = "batches.log"
	sourcePrefix = "source-"
)

// Open reads the committed checkpoint (if any) and the boundary log.
func (c *Checkpoints) Open() error {
	n, ok, err := c.Dir.Committed()
	if err != nil {
		return err
	}
	c.nextID = 1
	if ok {
		name := sourcePrefix + strconv.FormatUint(n, 10)
		b, err := c.Dir.ReadFile(name)
		if err != nil {
			return fmt.Errorf("restoring checkpoint %d: %w (the pipeline committed it, but produce has no record of it: is --checkpoint or --id different from the last run?)", n, err)
		}
		var t int64
		path := filepath.Join(c.Dir.Path, name)
		first, config, _ := strings.Cut(string(b), "\n")
		if _, err := fmt.Sscanf(first, "%d %d", &t, &c.lateSize); err != nil {
			return fmt.Errorf("restoring checkpoint %d: %s: %q is not a checkpoint record (want TIME LATESIZE, then the configuration); remove the checkpoint directory to start the pipeline over", n, path, b)
		}
		if config = strings.TrimSuffix(config, "\n"); config != c.Config {
			return fmt.Errorf("restoring checkpoint %d: %s was taken by 'produce %s', this run is 'produce %s': it would leave out the wrong batches; run with the arguments of the last run, or give the pipeline another checkpoint directory (or remove this one) to start over", n, path, config, c.Config)
		}
		if f := strings.SplitN(first, " ", 3); len(f) == 3 {
			c.extra = f[2]
		}
		c.skipTo, c.restarted, c.skipping, c.nextID = t, true, true, n+1
		if err := c.cutLate(); err != nil {
			return err
		}
		// From 1: record 0 stays (see openZero).
		if err := c.Dir.PruneOlder(sourcePrefix, 1); err != nil {
			return err
		}
	} else if err := c.openZero(); err != nil {
		return err
	}
	path := filepath.Join(c.Dir.Path, batchLogName)
	if c.bounds, err = readBoundaries(path); err != nil {
		return err
	}
	c.log, err = os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	return err
}

// openZero stands for the committed checkpoint when there is none yet:
// checkpoint 0, the --late file's size before the pipeline's first run,
// recorded then and kept. A run that died before its first commit may
// have written late lines, which a restart writes again: it cuts the file
// back to that size first.
func (c *Checkpoints) openZero() error {
	if c.Late == "" {
		return nil
	}
	name := sourcePrefix + "0"
	b, err := c.Dir.ReadFile(name)
	if errors.Is(err, os.ErrNotExist) {
		if fi, err := os.Stat(c.Late); err == nil {
			c.lateSize = fi.Size()
		}
		return c.Dir.WriteFile(name, fmt.Appendf(nil, "0 %d\n%s\n", c.lateSize, c.Config))
	}
	if err != nil {
		return err
	}
	var t int64
	first, _, _ := strings.Cut(string(b), "\n")
	if _, err := fmt.Sscanf(first, "%d %d", &t, &c.lateSize); err != nil {
		return fmt.Errorf("%s: %q is not a checkpoint record (want TIME LATESIZE, then the configuration); remove the checkpoint directory to start the pipeline over", filepath.Join(c.Dir.Path, name), b)
	}
	return c.cutLate()
}

// cutLate cuts the --late file back to its size at the committed
// checkpoint: the lines after it are written again as the input is read
// again.
func (c *Checkpoints) cutLate() error {
	if c.Late == "" {
		return nil
	}
	fi, err := os.Stat(c.Late)
	if errors.Is(err, os.ErrNotExist) && c.lateSize == 0 {
		return nil
	}
	if err != nil {
		return fmt.Errorf("--late %s: %w", c.Late, err)
	}
	if fi.Size() < c.lateSize {
		return fmt.Errorf("--late %s: %d bytes, shorter than the %d it had at the committed checkpoint: was it changed?", c.Late, fi.Size(), c.lateSize)
	}
	return os.Truncate(c.Late, c.lateSize)
}

// Skipping tells whether the source is making again what the committed
// checkpoint covers: its side output (--late) was written then.
func (c *Checkpoints) Skipping() bool { return c != nil && c.skipping }

// readLog reads a batch log (batches.log, kafka.log): its whole lines, nil
// when there is none. Its last line may be torn (a crash while writing
// it): that batch never went out, so it is dropped, and the file cut back
// to its last whole line.
func readLog(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	whole := bytes.LastIndexByte(data, '\n') + 1
	if whole < len(data) {
		if err := os.Truncate(path, int64(whole)); err != nil {
			return nil, err
		}
	}
	return data[:whole], nil
}

// readBoundaries reads batches.log (see readLog).
func readBoundaries(path string) ([]boundary, error) {
	data, err := readLog(path)
	if err != nil {
		return nil, err
	}
	var bounds []boundary
	sc := bufio.NewScanner(bytes.NewReader(data))
	for line := 1; sc.Scan(); line++ {
		t, count, ok := strings.Cut(sc.Text(), " ")
		var b boundary
		var err1, err2 error
		b.time, err1 = strconv.ParseInt(t, 10, 64)
		b.count, err2 = strconv.ParseInt(count, 10, 64)
		if !ok || err1 != nil || err2 != nil || (len(bounds) > 0 && (b.time <= bounds[len(bounds)-1].time || b.count < bounds[len(bounds)-1].count)) {
			return nil, fmt.Errorf("%s:%d: %q is not a batch boundary (want TIME COUNT, both growing)", path, line, sc.Text())
		}
		bounds = append(bounds, b)
	}
	return bounds, nil
}

// logBoundary appends a processing-time batch's boundary; it is called
// before the batch's last chunk goes out.
func (c *Checkpoints) logBoundary(b boundary) error {
	if c.ext != nil {
		return c.ext.logBoundary(b)
	}
	c.logDirty = true
	b.count += c.base
	if c.wal != nil {
		c.recent = append(c.recent, b)
		c.logLines++
	}
	_, err := fmt.Fprintf(c.log, "%d %d\n", b.time, b.count)
	return err
}

// findBound returns the index of the boundary of batch t.
func findBound(bounds []boundary, t int64) (int, bool) {
	return slices.BinarySearchFunc(bounds, t, func(b boundary, t int64) int { return cmp.Compare(b.time, t) })
}

// rebase makes the replay start at record base of the input, where the
// write-ahead log's oldest kept segment starts: it keeps the boundaries
// from the committed checkpoint's batch on, and none past have, the
// records the log holds (the others were lost with the machine: their
// batches are cut by the clock again); batches.log is rewritten with
// them. It returns how many were past have.
func (c *Checkpoints) rebase(base, have int64) (dropped int, err error) {
	bounds := c.bounds
	if c.restarted {
		if i, ok := findBound(bounds, c.skipTo); ok {
			bounds = bounds[i:]
		}
	}
	n := len(bounds)
	for n > 0 && bounds[n-1].count > have {
		n--
	}
	dropped = len(bounds) - n
	c.recent = slices.Clone(bounds[:n])
	if err := c.rewriteLog(); err != nil {
		return 0, err
	}
	c.bounds = make([]boundary, n)
	for i, b := range c.recent {
		c.bounds[i] = boundary{b.time, b.count - base}
	}
	c.base = base
	return dropped, nil
}

// rewriteLog replaces batches.log with c.recent, atomically.
func (c *Checkpoints) rewriteLog() error {
	var b []byte
	for _, x := range c.recent {
		b = fmt.Appendf(b, "%d %d\n", x.time, x.count)
	}
	if err := c.Dir.WriteFile(batchLogName, b); err != nil {
		return err
	}
	if c.log != nil {
		c.log.Close()
	}
	var err error
	c.log, err = os.OpenFile(filepath.Join(c.Dir.Path, batchLogName), os.O_WRONLY|os.O_APPEND, 0o600)
	c.logLines, c.logDirty = len(c.recent), false
	return err
}

// collect lets the write-ahead log drop what a restart from the committed
// checkpoint does not read, and cuts batches.log back when it has grown.
func (c *Checkpoints) collect() error {
	n, ok, err := c.Dir.Committed()
	if err != nil || !ok || n == c.collected {
		return err
	}
	name := sourcePrefix + strconv.FormatUint(n, 10)
	b, err := c.Dir.ReadFile(name)
	if err != nil {
		return err
	}
	var t, late int64
	first, _, _ := strings.Cut(string(b), "\n")
	if _, err := fmt.Sscanf(first, "%d %d", &t, &late); err != nil {
		return fmt.Errorf("%s: %q is not a checkpoint record (want TIME LATESIZE, then the configuration)", filepath.Join(c.Dir.Path, name), b)
	}
	i, ok := findBound(c.recent, t)
	if !ok {
		return nil // not a processing-time batch: the log is kept whole
	}
	c.collected = n
	if err := c.wal.collect(c.recent[i].count); err != nil {
		return err
	}
	c.recent = append(c.recent[:0], c.recent[i:]...)
	if c.logLines-len(c.recent) >= logCompact {
		return c.rewriteLog()
	}
	return nil
}

// Close closes the logs.
func (c *Checkpoints) Close() error {
	var err error
	if c.wal != nil {
		err = c.wal.close()
	}
	if c.ext != nil {
		err = c.ext.close()
	}
	if c.log != nil {
		if cerr := c.log.Close(); err == nil {
			err = cerr
		}
		c.log = nil
	}
	return err
}

// Checkpointed is a source that takes part in checkpoints: it wraps the
// back end's emitter to suppress committed batches and to write BARRIER N
// after every Every whole batches, after its record of N is durable.
type Checkpointed struct {
	Src stage.Source
	CP  *Checkpoints
}

// Run implements stage.Source.
func (s *Checkpointed) Run(ctx context.Context, out stage.Emitter) error {
	defer s.CP.Close()
	e := &cpEmitter{out: out.(stage.BarrierEmitter), cp: s.CP}
	err := s.Src.Run(ctx, e)
	if err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	if e.open {
		// A back end stopped inside a batch (it should close it): never
		// end a stream mid-batch.
		return fmt.Errorf("internal error: the source stopped inside batch %d", e.last)
	}
	if e.since > 0 {
		// The last checkpoint, at STOP or at the end of input.
		if berr := e.barrier(); berr != nil {
			return berr
		}
	}
	return err
}

type cpEmitter struct {
	out      stage.BarrierEmitter
	cp       *Checkpoints
	open     bool  // a batch is going out in chunks
	last     int64 // the time of the last batch sent
	since    int   // whole batches since the last barrier
	barriers int   // barriers sent
	lateAt   int64 // Late's size when the last whole batch went out
}

func (e *cpEmitter) Emit(b *frame.Batch) error {
	if e.cp.restarted && b.Time <= e.cp.skipTo {
		if b.Time == e.cp.skipTo && !b.More {
			e.cp.skipping = false // where the committed checkpoint's barrier went out
		}
		return nil // committed: the pipeline has it
	}
	e.cp.skipping = false
	if err := e.out.Emit(b); err != nil {
		return err
	}
	e.open, e.last = b.More, b.Time
	if b.More {
		return nil
	}
	if e.cp.lateBytes != nil {
		e.lateAt = e.cp.lateBytes()
	}
	if e.since++; e.since >= e.cp.Every {
		return e.barrier()
	}
	return nil
}

// checkpointNow implements checkpointer.
func (e *cpEmitter) checkpointNow() (uint64, bool, error) {
	if e.open {
		return 0, false, fmt.Errorf("internal error: a checkpoint inside batch %d", e.last)
	}
	if e.since > 0 {
		if err := e.barrier(); err != nil {
			return 0, false, err
		}
	}
	return e.cp.nextID - 1, e.barriers > 0, nil
}

// barrier saves the record of the next checkpoint and writes its BARRIER.
func (e *cpEmitter) barrier() error {
	id := e.cp.nextID
	if e.cp.wal != nil {
		// What was read must be durable before a checkpoint covers it.
		if err := e.cp.wal.sync(); err != nil {
			return fmt.Errorf("checkpoint %d: %w", id, err)
		}
	}
	if e.cp.logDirty {
		if err := e.cp.log.Sync(); err != nil {
			return fmt.Errorf("checkpoint %d: %w", id, err)
		}
		e.cp.logDirty = false
	}
	extra := ""
	if e.cp.ext != nil {
		var err error
		if err = e.cp.ext.sync(); err == nil {
			extra, err = e.cp.ext.recordExtra(e.last)
		}
		if err != nil {
			return fmt.Errorf("checkpoint %d: %w", id, err)
		}
		extra = " " + extra
	}
	var late int64
	if e.cp.flushLate != nil {
		if err := e.cp.flushLate(); err != nil {
			return fmt.Errorf("checkpoint %d: %w", id, err)
		}
	}
	switch {
	case e.cp.lateBytes != nil:
		// Its size when the checkpoint's last batch went out: a stop comes
		// after more lines were read, which a restart reads again after
		// that batch, and writes again if late.
		late = e.lateAt
	case e.cp.Late != "":
		if fi, err := os.Stat(e.cp.Late); err == nil {
			late = fi.Size()
		}
	}
	record := fmt.Sprintf("%d %d%s\n%s\n", e.last, late, extra, e.cp.Config)
	if err := e.cp.Dir.WriteFile(sourcePrefix+strconv.FormatUint(id, 10), []byte(record)); err != nil {
		return fmt.Errorf("checkpoint %d: %w", id, err)
	}
	if err := e.cp.Dir.PruneOlder(sourcePrefix, 1); err != nil {
		return fmt.Errorf("checkpoint %d: %w", id, err)
	}
	if e.cp.wal != nil {
		if err := e.cp.collect(); err != nil {
			return fmt.Errorf("checkpoint %d: %w", id, err)
		}
	}
	if e.cp.ext != nil {
		if err := e.cp.ext.committed(); err != nil {
			return fmt.Errorf("checkpoint %d: %w", id, err)
		}
	}
	e.cp.nextID++
	e.since = 0
	e.barriers++
	return e.out.EmitBarrier(frame.Barrier{ID: id, Time: e.last})
}
