package source

import (
	"context"
	"time"

	"dstream/lib/stage"
)

// pacer holds emission back to the wall clock (--realtime): batch T goes
// out at start + (T - first T), where start is when the first one went out.
// After a restart the batches the committed checkpoint covers are made
// again but not sent: they go by at once, and the clock starts at the
// first batch sent, so a restart does not wait as long as the run before.
// A nil pacer does not wait.
type pacer struct {
	clock  stage.Clock
	cp     *Checkpoints
	start  time.Time
	firstT int64
	begun  bool
}

func newPacer(c Common, on bool) *pacer {
	if !on {
		return nil
	}
	return &pacer{clock: c.Clock, cp: c.CP}
}

// covers tells whether batch t is in the committed checkpoint: made again
// after a restart, but not sent.
func (c *Checkpoints) covers(t int64) bool { return c != nil && c.restarted && t <= c.skipTo }

// wait returns when batch t is due, or with ctx's error.
func (p *pacer) wait(ctx context.Context, t int64) error {
	if p == nil || p.cp.covers(t) {
		return ctx.Err()
	}
	if !p.begun {
		p.start, p.firstT, p.begun = p.clock.Now(), t, true
		return ctx.Err()
	}
	d := p.start.Add(time.Duration(t-p.firstT) * time.Millisecond).Sub(p.clock.Now())
	if d <= 0 {
		return ctx.Err()
	}
	select {
	case <-p.clock.After(d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// floorDiv is a / b rounded towards minus infinity (b > 0), so times
// before the epoch fall in the right batch too.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// batchOf returns the time of the batch holding time ts: the end of the
// interval [T-d, T) that contains it.
func batchOf(ts, d int64) int64 { return floorDiv(ts, d)*d + d }
