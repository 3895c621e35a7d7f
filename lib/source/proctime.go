package source

import (
	"fmt"
	"time"

	"dstream/lib/frame"
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
	total    int64 // records added
	cp       *Checkpoints
	// replay holds the logged boundaries of batches still to emit again
	// after a restart: until it is used up, they cut the batches, not the
	// clock.
	replay []boundary
	// emptied, when set, is called when what the batch held has gone out:
	// records added by reference are no longer needed.
	emptied func()
}

func newProcTime(c Common, out stage.Emitter) *procTime {
	p := &procTime{
		clock: c.Clock, interval: c.Interval, out: out,
		b:     c.batcher(),
		next:  batchOf(c.Clock.Now().UnixMilli(), c.Interval),
		chunk: c.chunk(),
		cp:    c.CP,
	}
	if c.CP != nil && len(c.CP.bounds) > 0 {
		p.replay = c.CP.bounds
		p.next = p.replay[0].time
	}
	return p
}

// replaying tells whether logged batches are still to be emitted again.
func (p *procTime) replaying() bool { return len(p.replay) > 0 }

// cut emits the logged batches that end at the records added so far.
func (p *procTime) cut() error {
	for len(p.replay) > 0 && p.replay[0].count == p.total {
		if err := p.b.EmitReset(p.out, p.next); err != nil {
			return err
		}
		p.gone()
		p.replay = p.replay[1:]
		if len(p.replay) > 0 {
			p.next = p.replay[0].time
		} else {
			// Live again: the clock cuts, from the batch after the last logged one.
			p.next = max(p.next+p.interval, batchOf(p.clock.Now().UnixMilli(), p.interval))
		}
	}
	return nil
}

// emit sends the batch being filled as batch p.next, its boundary logged
// first when checkpointing: a batch that went out is always in the log.
func (p *procTime) emit() error {
	if p.cp != nil {
		if err := p.cp.logBoundary(boundary{p.next, p.total}); err != nil {
			return err
		}
	}
	err := p.b.EmitReset(p.out, p.next)
	p.gone()
	return err
}

// gone tells the owner of records added by reference that they went out.
func (p *procTime) gone() {
	if p.emptied != nil {
		p.emptied()
	}
}

// timer fires when the current batch is due; never while replaying.
func (p *procTime) timer() <-chan time.Time {
	if p.replaying() {
		return nil
	}
	return p.clock.After(time.UnixMilli(p.next).Sub(p.clock.Now()))
}

// tick emits every batch that is due; after a stall (a slow downstream, a
// suspended process) the missed batch times go out empty, in order.
func (p *procTime) tick() error {
	now := p.clock.Now().UnixMilli()
	for p.next <= now {
		if err := p.emit(); err != nil {
			return err
		}
		p.next += p.interval
	}
	return nil
}

// flush emits the current batch at its time, at the end of input or at a
// stop, so that nothing read is left out.
func (p *procTime) flush() error {
	if err := p.cut(); err != nil {
		return err
	}
	if p.replaying() {
		return fmt.Errorf("the input ended after %d records, but before the restart produce had read %d (batch %d): did a file change?", p.total, p.replay[0].count, p.replay[0].time)
	}
	return p.emit()
}

// add puts a record in the batch being filled. When the batch has grown
// past the chunk size, what it holds goes out first as a chunk (More), so
// a fast input never builds a frame bigger than a chunk, memory stays
// bounded, and the next stage works on the batch while it fills.
func (p *procTime) add(key []byte, keyed bool, value []byte) error {
	if err := p.room(len(key) + len(value)); err != nil {
		return err
	}
	p.b.Add(key, keyed, value)
	p.total++
	return nil
}

// addRef is add for an unkeyed record whose bytes stay valid until emptied
// is called: it is not copied.
func (p *procTime) addRef(value []byte) error {
	if err := p.room(len(value)); err != nil {
		return err
	}
	p.b.AddRef(frame.Record{Value: value})
	p.total++
	return nil
}

// room makes room for a record of n bytes: the batch's logged end, or a
// chunk of it, goes out first when due.
func (p *procTime) room(n int) error {
	if err := p.cut(); err != nil {
		return err
	}
	if p.b.Len() > 0 && p.b.Size()+n+6 > p.chunk {
		if err := p.b.EmitChunk(p.out, p.next); err != nil {
			return err
		}
		p.gone()
	}
	return nil
}
