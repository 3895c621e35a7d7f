package source

import (
	"context"

	"dstream/lib/stage"
)

// QueueConfig configures a queue of files, as Spark's queueStream.
type QueueConfig struct {
	Common
	Files []Input // one batch each
	Line  LineConfig
	// AllAtOnce puts every file in the first batch (oneAtATime=false).
	AllAtOnce bool
	// Default, when set, fills the batches after the queue is empty.
	Default *Input
	// Batches, when > 0, pads the stream with Default (or empty) batches
	// up to this many in all.
	Batches int
	// Start is the time before the first batch: batches are at Start+D,
	// Start+2D, ...
	Start int64
	// Realtime emits one batch per interval of wall clock. With Default
	// and no Batches the stream then runs until cancelled.
	Realtime bool
}

// Queue is the queue source.
type Queue struct{ cfg QueueConfig }

// NewQueue returns the queue source.
func NewQueue(cfg QueueConfig) *Queue { return &Queue{cfg: cfg} }

// Run implements stage.Source.
func (q *Queue) Run(ctx context.Context, out stage.Emitter) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cfg := q.cfg
	lc := LinesConfig{Common: cfg.Common, Line: cfg.Line}
	pace := newPacer(cfg.Common, cfg.Realtime)
	k := int64(0) // batches emitted
	emit := func(b *Batcher) error {
		t := cfg.Start + (k+1)*cfg.Interval
		if err := pace.wait(ctx, t); err != nil {
			return err
		}
		k++
		return b.Emit(out, t)
	}

	// The default batch is read once and emitted as often as needed.
	def := cfg.batcher()
	if cfg.Default != nil {
		f := newLineFeeder(lc)
		add := func(r *record) error { def.Add(r.key, r.keyed, r.value); return nil }
		if err := readLines(ctx, startReader(ctx, []Input{*cfg.Default}), f, add, nil); err != nil {
			return err
		}
	}

	cur := cfg.batcher()
	f := newLineFeeder(lc)
	add := func(r *record) error { cur.Add(r.key, r.keyed, r.value); return nil }
	var endInput func() error
	if !cfg.AllAtOnce {
		endInput = func() error {
			err := emit(cur)
			cur.Reset()
			return err
		}
	}
	if err := readLines(ctx, startReader(ctx, cfg.Files), f, add, endInput); err != nil {
		return err
	}
	if cfg.AllAtOnce {
		if err := emit(cur); err != nil {
			return err
		}
	}

	forever := cfg.Default != nil && cfg.Batches == 0 && cfg.Realtime
	for forever || k < int64(cfg.Batches) {
		if err := emit(def); err != nil {
			return err
		}
	}
	return nil
}
