package source

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"dstream/lib/stage"
)

// Watch is Spark's textFileStream: files that appear in a directory after
// the start are read whole into the current processing-time batch. The
// directory is polled every min(interval, 1s); new files are taken in name
// order. Names starting with "." or "_" are skipped, as Spark does, so a
// writer can create a file under such a name and rename it when complete:
// files must appear atomically (rename, not write in place).
type Watch struct {
	cfg LinesConfig
	dir string

	afterPoll func() // tests: called after each poll

	// A write-ahead log (wal.go) hooks in here: resume reads the logged
	// files again before the first poll's files, and logFile logs a new
	// file before it is read.
	resume  func(ctx context.Context, seen map[string]bool, pt *procTime, f *lineFeeder, add func(*record) error) error
	logFile func(path string, data []byte) error
}

// NewWatch returns the directory source; cfg.Inputs is ignored.
func NewWatch(dir string, cfg LinesConfig) *Watch { return &Watch{cfg: cfg, dir: dir} }

// Run implements stage.Source. It runs until ctx is cancelled.
func (w *Watch) Run(ctx context.Context, out stage.Emitter) error {
	seen := map[string]bool{}
	if _, err := w.poll(seen); err != nil {
		return err
	}
	pt := newProcTime(w.cfg.Common, out)
	f := newLineFeeder(w.cfg)
	add := func(r *record) error { return pt.add(r.key, r.keyed, r.value) }
	if w.resume != nil {
		if err := w.resume(ctx, seen, pt, f, add); err != nil {
			return err
		}
	}
	every := min(time.Duration(w.cfg.Interval)*time.Millisecond, time.Second)
	nextPoll := w.cfg.Clock.Now().Add(every)
	for {
		now := w.cfg.Clock.Now()
		wake := time.UnixMilli(pt.next)
		if nextPoll.Before(wake) {
			wake = nextPoll
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-w.cfg.Clock.After(wake.Sub(now)):
		}
		// Poll before emitting: a file that is there at batch time T
		// arrived in [T-D, T).
		if now := w.cfg.Clock.Now(); !now.Before(nextPoll) {
			names, err := w.poll(seen)
			if err != nil {
				return err
			}
			for _, name := range names {
				if err := w.read(name, f, add); err != nil {
					return err
				}
			}
			nextPoll = now.Add(every)
			if w.afterPoll != nil {
				w.afterPoll()
			}
		}
		if err := pt.tick(); err != nil {
			return err
		}
	}
}

// poll returns the new files' paths in name order and marks them seen.
func (w *Watch) poll(seen map[string]bool) ([]string, error) {
	entries, err := os.ReadDir(w.dir) // sorted by name
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		n := e.Name()
		if seen[n] || strings.HasPrefix(n, ".") || strings.HasPrefix(n, "_") || !e.Type().IsRegular() {
			continue
		}
		seen[n] = true
		names = append(names, filepath.Join(w.dir, n))
	}
	sort.Strings(names)
	return names, nil
}

// read adds a whole file's records to the current batch.
func (w *Watch) read(path string, f *lineFeeder, add func(*record) error) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if w.logFile != nil {
		if err := w.logFile(path, data); err != nil {
			return err
		}
	}
	f.sp.feed(chunk{name: path, data: data, first: true, end: true})
	return f.fill(add)
}
