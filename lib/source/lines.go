package source

import (
	"bufio"
	"context"
	"fmt"
	"os"

	"dstream/lib/stage"
)

// LinesConfig configures lines from files or stdin (and, through Socket,
// from a connection).
type LinesConfig struct {
	Common
	Inputs []Input
	Line   LineConfig
	// Event time (Line.TimeField set): the field's layout, the lateness in
	// ms, the file that takes late lines ("" makes a late line an error),
	// and whether emission follows the wall clock.
	Layout   TimeLayout
	Lateness int64
	Late     string
	Realtime bool

	afterChunk func() // tests: called when a chunk has been consumed
}

// Lines reads lines and batches them by processing time, or by event time
// when LineConfig.TimeField is set.
type Lines struct{ cfg LinesConfig }

// NewLines returns the source; cfg must have passed Line.Check.
func NewLines(cfg LinesConfig) *Lines { return &Lines{cfg: cfg} }

// Run implements stage.Source.
func (l *Lines) Run(ctx context.Context, out stage.Emitter) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // stops the reader
	rd := startReader(ctx, l.cfg.Inputs)
	if l.cfg.Line.TimeField != "" {
		return l.runEvent(ctx, rd, out)
	}
	return runProcLines(ctx, rd, l.cfg, out)
}

// lineFeeder turns chunks into records.
type lineFeeder struct {
	sp  splitter
	p   *parser
	rec record // the record being added; here, not on the stack, as add's argument escapes
}

func newLineFeeder(cfg LinesConfig) *lineFeeder {
	return &lineFeeder{sp: splitter{max: cfg.MaxFrame}, p: newParser(cfg.Line)}
}

// fill adds the current chunk's records.
func (f *lineFeeder) fill(add func(r *record) error) error {
	for {
		line, ok, err := f.sp.next()
		if err != nil || !ok {
			return err
		}
		if f.p.plain {
			// The hot path: the record is the line, nothing to find.
			f.rec.value, f.rec.line = line, line
		} else if err := f.p.parse(&f.rec, line, &f.sp); err != nil {
			return err
		}
		if f.rec.skip {
			continue
		}
		if err := add(&f.rec); err != nil {
			return err
		}
	}
}

// runProcLines batches the reader's lines by processing time.
func runProcLines(ctx context.Context, rd *chunkReader, cfg LinesConfig, out stage.Emitter) error {
	pt := newProcTime(cfg.Common, out)
	f := newLineFeeder(cfg)
	// The plain lines of a big chunk go into the batch in place, not
	// copied: the chunk's buffer goes back to the reader once the batches
	// holding its lines are out. A chunk is held only when it is at least
	// half a read, so at most two are held when the batch (at most a read
	// of records) goes out, and the reader keeps buffers to read ahead. A
	// trickle of small chunks (a terminal, tail -f) is copied, and never
	// holds the reader's buffers.
	var held []chunk
	inPlace := false
	pt.emptied = func() {
		for _, c := range held {
			rd.Release(c)
		}
		held = held[:0]
	}
	add := func(r *record) error {
		if inPlace && !f.sp.carried {
			return pt.addRef(r.value)
		}
		return pt.add(r.key, r.keyed, r.value)
	}
	if err := pt.cut(); err != nil {
		return err
	}
	timer := pt.timer()
	for {
		select {
		case <-ctx.Done():
			if pt.replaying() {
				// A batch half emitted again cannot be closed as logged.
				return fmt.Errorf("stopped while emitting again the batches read before the restart; nothing is lost, restart to go on")
			}
			if err := pt.flush(); err != nil {
				return err
			}
			return ctx.Err()
		case <-timer:
			if err := pt.tick(); err != nil {
				return err
			}
			timer = pt.timer()
		case c, ok := <-rd.C:
			if ctx.Err() != nil {
				return ctx.Err() // cancelling can end the input too
			}
			if !ok {
				return pt.flush()
			}
			if c.err != nil {
				return c.err
			}
			f.sp.feed(c)
			inPlace = f.p.plain && len(c.data) >= chunkSize/2 && pt.chunk <= chunkSize
			if err := f.fill(add); err != nil {
				return err
			}
			if inPlace {
				held = append(held, c)
			} else {
				rd.Release(c)
			}
			if timer == nil && !pt.replaying() {
				timer = pt.timer() // the replay is over: the clock cuts again
			}
			if cfg.afterChunk != nil {
				cfg.afterChunk()
			}
		}
	}
}

// runEvent batches the reader's lines by the time in their field.
func (l *Lines) runEvent(ctx context.Context, rd *chunkReader, out stage.Emitter) error {
	cfg := l.cfg
	eb := newEventBatcher(cfg.Common, cfg.Lateness, out, newPacer(cfg.Common, cfg.Realtime))
	f := newLineFeeder(cfg)
	late, err := openLate(cfg.Late)
	if err != nil {
		return err
	}
	defer late.close()
	if cfg.CP != nil && late != nil {
		cfg.CP.flushLate = late.w.Flush
		cfg.CP.lateBytes = func() int64 { return late.size }
	}
	add := func(r *record) error {
		ts, ok := cfg.Layout.Parse(r.ts)
		if !ok {
			return fmt.Errorf("%s: event-time field %s is %q: bad time, want %s", f.sp.where(), cfg.Line.TimeField, r.ts, cfg.Layout)
		}
		err := eb.add(ctx, ts, r.key, r.keyed, r.value)
		if err == nil {
			return nil
		}
		if le, ok := err.(*lateError); ok {
			if late == nil {
				return fmt.Errorf("%s: late record at time %d: %v (raise --lateness, or give --late FILE to keep late records)", f.sp.where(), ts, le)
			}
			if cfg.CP.Skipping() {
				return nil // written before the committed checkpoint
			}
			return late.write(r.line)
		}
		return fmt.Errorf("%s: %w", f.sp.where(), err)
	}
	if err := readLines(ctx, rd, f, add, nil); err != nil {
		return err
	}
	if err := eb.finish(ctx); err != nil {
		return err
	}
	if late != nil {
		if err := late.close(); err != nil {
			return err
		}
		cfg.Log.Info("late records", "count", late.n, "file", cfg.Late)
	}
	return nil
}

// readLines feeds every record of rd to add; endInput, when set, is called
// at the end of each input.
func readLines(ctx context.Context, rd *chunkReader, f *lineFeeder, add func(*record) error, endInput func() error) error {
	for {
		var c chunk
		var ok bool
		select {
		case <-ctx.Done():
			return ctx.Err()
		case c, ok = <-rd.C:
		}
		if !ok {
			return nil
		}
		if c.err != nil {
			return c.err
		}
		f.sp.feed(c)
		if err := f.fill(add); err != nil {
			return err
		}
		rd.Release(c)
		if c.end && endInput != nil {
			if err := endInput(); err != nil {
				return err
			}
		}
	}
}

// lateFile takes late lines as they were read (--late FILE), appended.
type lateFile struct {
	path string
	f    *os.File
	w    *bufio.Writer
	n    int64
	size int64 // the file's size with what w holds
}

func openLate(path string) (*lateFile, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	return &lateFile{path: path, f: f, w: bufio.NewWriter(f), size: fi.Size()}, nil
}

func (l *lateFile) write(line []byte) error {
	l.n++
	l.size += int64(len(line)) + 1
	l.w.Write(line)
	return l.w.WriteByte('\n')
}

// close flushes and closes; later calls do nothing.
func (l *lateFile) close() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.w.Flush()
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	l.f = nil
	if err != nil {
		return fmt.Errorf("--late %s: %w", l.path, err)
	}
	return nil
}
