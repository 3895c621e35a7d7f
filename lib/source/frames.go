package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sort"

	"dstream/lib/frame"
	"dstream/lib/stage"
)

// FramesConfig configures the replay of frame files: object files written by
// 'sink --object-files', or captured streams.
type FramesConfig struct {
	Common
	// Files are the frame files; none means a stream on Stdin.
	Files []string
	Stdin io.Reader
	// Interval, when > 0, is the interval the batches must have.
	// Repartition re-slices batches into Common.Partitions partitions;
	// otherwise they keep the partitions they were written with.
	Repartition bool
	Realtime    bool
}

// Frames replays the BATCH frames of frame files. The files are ordered by
// the time of their first batch, so a shell glob over PREFIX-1000 and
// PREFIX-10000 replays in time order. BARRIER, EOS and STOP frames in the
// files are not forwarded: the replay ends with its own EOS (or STOP).
type Frames struct{ cfg FramesConfig }

// NewFrames returns the frame replay source.
func NewFrames(cfg FramesConfig) *Frames { return &Frames{cfg: cfg} }

type frameFile struct {
	name  string
	first int64 // time of its first batch; MaxInt64 when it has none
}

// Run implements stage.Source.
func (s *Frames) Run(ctx context.Context, out stage.Emitter) error {
	r := &replay{cfg: s.cfg, out: out, pace: newPacer(s.cfg.Common, s.cfg.Realtime),
		b: s.cfg.batcher()}
	if len(s.cfg.Files) == 0 {
		return r.file(ctx, "stdin", s.cfg.Stdin)
	}
	files := make([]frameFile, len(s.cfg.Files))
	for i, name := range s.cfg.Files {
		first, err := s.firstTime(name)
		if err != nil {
			return err
		}
		files[i] = frameFile{name: name, first: first}
	}
	sort.SliceStable(files, func(i, j int) bool { return files[i].first < files[j].first })
	for _, ff := range files {
		f, err := os.Open(ff.name)
		if err != nil {
			return err
		}
		err = r.file(ctx, ff.name, f)
		f.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// firstTime reads a file up to its first BATCH frame.
func (s *Frames) firstTime(name string) (int64, error) {
	f, err := os.Open(name)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	rd := frame.NewReader(f, s.cfg.MaxFrame)
	for {
		fr, err := rd.Next()
		if err == io.EOF {
			return math.MaxInt64, nil
		}
		if err != nil {
			return 0, fmt.Errorf("%s: %w", name, err)
		}
		if fr.Type == frame.TypeBatch {
			return fr.Batch.Time, nil
		}
	}
}

// replay checks and forwards batches across files.
type replay struct {
	cfg      FramesConfig
	out      stage.Emitter
	pace     *pacer
	b        *Batcher
	begun    bool
	lastT    int64
	lastFile string
	interval int64
	open     bool // the last batch frame was a chunk with More
}

func (r *replay) file(ctx context.Context, name string, f io.Reader) error {
	rd := frame.NewReader(f, r.cfg.MaxFrame)
	for {
		fr, err := rd.Next()
		if errors.Is(err, io.EOF) {
			if r.open {
				return fmt.Errorf("%s ends inside batch %d: its last chunk is missing", name, r.lastT)
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if fr.Type != frame.TypeBatch {
			continue
		}
		if err := r.batch(ctx, name, fr.Batch); err != nil {
			return err
		}
	}
}

func (r *replay) batch(ctx context.Context, name string, b *frame.Batch) error {
	switch {
	case r.cfg.Interval > 0 && b.Interval != r.cfg.Interval:
		return fmt.Errorf("%s: batch %d has an interval of %d ms, but --batch says %d ms", name, b.Time, b.Interval, r.cfg.Interval)
	case r.begun && b.Interval != r.interval:
		return fmt.Errorf("%s: batch %d has an interval of %d ms, but the batches before it (%s) have %d ms", name, b.Time, b.Interval, r.lastFile, r.interval)
	case r.open && b.Time != r.lastT:
		return fmt.Errorf("%s: batch %d comes before the last chunk of batch %d", name, b.Time, r.lastT)
	case r.begun && !r.open && b.Time <= r.lastT:
		return fmt.Errorf("%s: batch time %d is not after the previous batch %d (%s): batch times must strictly increase", name, b.Time, r.lastT, r.lastFile)
	case b.Interval <= 0:
		return fmt.Errorf("%s: batch %d has an interval of %d ms, want > 0", name, b.Time, b.Interval)
	}
	first := !r.open
	r.begun, r.lastT, r.lastFile, r.interval, r.open = true, b.Time, name, b.Interval, b.More
	if first {
		if err := r.pace.wait(ctx, b.Time); err != nil {
			return err
		}
	}
	if !r.cfg.Repartition {
		return r.out.Emit(b)
	}
	// The records point into the reader's buffers, valid until its next
	// frame: no copy is needed to re-slice them.
	for _, p := range b.Partitions {
		for _, rec := range p.Records {
			r.b.AddRef(rec)
		}
	}
	r.b.Interval = b.Interval
	if b.More {
		return r.b.EmitChunk(r.out, b.Time)
	}
	return r.b.EmitReset(r.out, b.Time)
}
