package source

import (
	"time"

	"dstream/lib/stage"
)

// procTime batches by processing time, as Spark's RecurringTimer: batch T, a
// multiple of the interval since the epoch, holds what arrived in
// [T-interval, T), and every batch time is emitted, empty or not.
type procTime struct {
	clock    stage.Clock
	interval int64
	b        *Batcher
	out      stage.Emitter
	next     int64 // the time of the batch being filled
	budget   int   // bytes a batch may hold and still fit in a frame
}

func newProcTime(c Common, out stage.Emitter) *procTime {
	return &procTime{
		clock: c.Clock, interval: c.Interval, out: out,
		b:      NewBatcher(c.Interval, c.Partitions),
		next:   batchOf(c.Clock.Now().UnixMilli(), c.Interval),
		budget: c.budget(),
	}
}

// timer fires when the current batch is due.
func (p *procTime) timer() <-chan time.Time {
	return p.clock.After(time.UnixMilli(p.next).Sub(p.clock.Now()))
}

// tick emits every batch that is due; after a stall (a slow downstream, a
// suspended process) the missed batch times go out empty, in order.
func (p *procTime) tick() error {
	now := p.clock.Now().UnixMilli()
	for p.next <= now {
		if err := p.b.EmitReset(p.out, p.next); err != nil {
			return err
		}
		p.next += p.interval
	}
	return nil
}

// flush emits the current batch at its time, at the end of input.
func (p *procTime) flush() error { return p.b.EmitReset(p.out, p.next) }

// full tells whether a line of n bytes would overflow the frame size limit:
// then reading waits for the next batch time (back pressure) rather than
// build a frame no reader could take.
func (p *procTime) full(n int) bool {
	return p.b.Len() > 0 && p.b.Size()+n+6 > p.budget
}
