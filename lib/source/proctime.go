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
	chunk    int   // record bytes that make the batch so far go out as a chunk
}

func newProcTime(c Common, out stage.Emitter) *procTime {
	return &procTime{
		clock: c.Clock, interval: c.Interval, out: out,
		b:     c.batcher(),
		next:  batchOf(c.Clock.Now().UnixMilli(), c.Interval),
		chunk: c.chunk(),
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

// add puts a record in the batch being filled. When the batch has grown
// past the chunk size, what it holds goes out first as a chunk (More), so
// a fast input never builds a frame bigger than a chunk, memory stays
// bounded, and the next stage works on the batch while it fills.
func (p *procTime) add(key []byte, keyed bool, value []byte) error {
	if p.b.Len() > 0 && p.b.Size()+len(key)+len(value)+6 > p.chunk {
		if err := p.b.EmitChunk(p.out, p.next); err != nil {
			return err
		}
	}
	p.b.Add(key, keyed, value)
	return nil
}
