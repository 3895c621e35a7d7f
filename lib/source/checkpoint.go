package source

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
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
//
// Re-reading the input from its start costs a pass over what was read
// before the checkpoint (about a second per GB); in exchange a source
// keeps no offsets that a change of the files would invalidate silently:
// a file that shrank ends the replay with an error.
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
	skipping  bool         // emitting again what the committed checkpoint covers
	lateSize  int64        // Late's size at the committed checkpoint

	skipTo    int64  // batches up to this time are committed: emitted again, not sent
	restarted bool   // a committed checkpoint was restored
	nextID    uint64 // the next barrier's number
	bounds    []boundary
	log       *os.File // batches.log, for appending
	logDirty  bool     // written since the last sync
}

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
			return fmt.Errorf("restoring checkpoint %d: %s: %q is not a checkpoint record (want TIME LATESIZE, then the configuration)", n, path, b)
		}
		if config = strings.TrimSuffix(config, "\n"); config != c.Config {
			return fmt.Errorf("restoring checkpoint %d: %s was taken by 'produce %s', this run is 'produce %s': it would leave out the wrong batches; run with the arguments of the last run, or give the pipeline another checkpoint directory (or remove this one) to start over", n, path, config, c.Config)
		}
		c.skipTo, c.restarted, c.skipping, c.nextID = t, true, true, n+1
		if err := c.cutLate(); err != nil {
			return err
		}
		if err := pruneRecords(c.Dir); err != nil {
			return err
		}
	}
	path := filepath.Join(c.Dir.Path, batchLogName)
	if c.bounds, err = readBoundaries(path); err != nil {
		return err
	}
	c.log, err = os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	return err
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

// readBoundaries reads batches.log. Its last line may be torn (a crash
// while writing it): that batch never went out, so it is dropped, and the
// file cut back to its last whole line.
func readBoundaries(path string) ([]boundary, error) {
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
	var bounds []boundary
	sc := bufio.NewScanner(bytes.NewReader(data[:whole]))
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
	c.logDirty = true
	_, err := fmt.Fprintf(c.log, "%d %d\n", b.time, b.count)
	return err
}

// Close closes the log.
func (c *Checkpoints) Close() error {
	if c.log == nil {
		return nil
	}
	return c.log.Close()
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
	out   stage.BarrierEmitter
	cp    *Checkpoints
	open  bool  // a batch is going out in chunks
	last  int64 // the time of the last batch sent
	since int   // whole batches since the last barrier
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
	if e.since++; e.since >= e.cp.Every {
		return e.barrier()
	}
	return nil
}

// barrier saves the record of the next checkpoint and writes its BARRIER.
func (e *cpEmitter) barrier() error {
	id := e.cp.nextID
	if e.cp.logDirty {
		if err := e.cp.log.Sync(); err != nil {
			return fmt.Errorf("checkpoint %d: %w", id, err)
		}
		e.cp.logDirty = false
	}
	var late int64
	if e.cp.flushLate != nil {
		if err := e.cp.flushLate(); err != nil {
			return fmt.Errorf("checkpoint %d: %w", id, err)
		}
	}
	if e.cp.Late != "" {
		if fi, err := os.Stat(e.cp.Late); err == nil {
			late = fi.Size()
		}
	}
	record := fmt.Sprintf("%d %d\n%s\n", e.last, late, e.cp.Config)
	if err := e.cp.Dir.WriteFile(sourcePrefix+strconv.FormatUint(id, 10), []byte(record)); err != nil {
		return fmt.Errorf("checkpoint %d: %w", id, err)
	}
	if err := pruneRecords(e.cp.Dir); err != nil {
		return fmt.Errorf("checkpoint %d: %w", id, err)
	}
	e.cp.nextID++
	e.since = 0
	return e.out.EmitBarrier(frame.Barrier{ID: id, Time: e.last})
}

// pruneRecords removes the records of checkpoints older than the
// committed one: no restart can need them.
func pruneRecords(dir *checkpoint.Dir) error {
	committed, ok, err := dir.Committed()
	if err != nil || !ok {
		return err
	}
	entries, err := os.ReadDir(dir.Path)
	if err != nil {
		return err
	}
	for _, en := range entries {
		num, found := strings.CutPrefix(en.Name(), sourcePrefix)
		if n, err := strconv.ParseUint(num, 10, 64); found && err == nil && n < committed {
			if err := dir.Remove(en.Name()); err != nil {
				return err
			}
		}
	}
	return nil
}
