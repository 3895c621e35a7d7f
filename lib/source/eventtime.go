package source

import (
	"context"
	"fmt"

	"dstream/lib/stage"
)

// maxGap bounds the empty batches one record may cause: a time in seconds
// read as milliseconds, or a stray year, would otherwise emit for ever.
const maxGap = 1_000_000

// eventBatcher puts records in the batch of their own time. Batch T is
// emitted once the largest time seen is >= T + lateness; every batch time
// from the first one on is emitted, empty ones included, in order.
type eventBatcher struct {
	common   Common
	interval int64 // common.Interval
	lateness int64
	out      stage.Emitter
	pace     *pacer

	pending map[int64]*Batcher // batches not yet emitted
	last    *Batcher           // the batch of the last record, for the common case
	lastT   int64
	free    []*Batcher
	empty   *Batcher

	begun   bool  // a record was seen
	emitted bool  // a batch was emitted
	next    int64 // the next batch time to emit
	maxTs   int64 // the largest time seen
	maxT    int64 // the largest batch time holding a record
}

func newEventBatcher(c Common, lateness int64, out stage.Emitter, pace *pacer) *eventBatcher {
	return &eventBatcher{
		common: c, interval: c.Interval, lateness: lateness, out: out, pace: pace,
		pending: map[int64]*Batcher{}, empty: c.batcher(),
	}
}

// lateError is a record whose batch was already emitted.
type lateError struct{ t, next int64 }

func (e *lateError) Error() string {
	return fmt.Sprintf("its batch %d was already emitted (the stream is at batch %d)", e.t, e.next)
}

// add puts a record of time ts in its batch and emits the batches that are
// complete. A late record is not added: add returns a *lateError.
func (e *eventBatcher) add(ctx context.Context, ts int64, key []byte, keyed bool, value []byte) error {
	t := batchOf(ts, e.interval)
	switch {
	case !e.begun:
		e.begun, e.next, e.maxTs, e.maxT = true, t, ts, t
	case t < e.next:
		if e.emitted {
			return &lateError{t: t, next: e.next}
		}
		e.next = t // nothing out yet: the stream may still start earlier
	}
	if ts > e.maxTs {
		if (ts-e.next)/e.interval > maxGap {
			return fmt.Errorf("time %d is %d batches after batch %d; is --time-layout right?", ts, (ts-e.next)/e.interval, e.next)
		}
		e.maxTs = ts
	}
	e.maxT = max(e.maxT, t)
	b := e.last
	if b == nil || e.lastT != t {
		b = e.pending[t]
		if b == nil {
			b = e.newBatcher()
			e.pending[t] = b
		}
		e.last, e.lastT = b, t
	}
	b.Add(key, keyed, value)
	for e.next+e.lateness <= e.maxTs {
		if err := e.emit(ctx); err != nil {
			return err
		}
	}
	return nil
}

// finish emits every batch up to the last record's.
func (e *eventBatcher) finish(ctx context.Context) error {
	for e.begun && e.next <= e.maxT {
		if err := e.emit(ctx); err != nil {
			return err
		}
	}
	return nil
}

// emit emits batch e.next, empty when no record fell in it.
func (e *eventBatcher) emit(ctx context.Context) error {
	if err := e.pace.wait(ctx, e.next); err != nil {
		return err
	}
	t := e.next
	b := e.pending[t]
	if b == nil {
		b = e.empty
	}
	if err := b.EmitReset(e.out, t); err != nil {
		return err
	}
	if b != e.empty {
		delete(e.pending, t)
		e.free = append(e.free, b)
		if e.last == b {
			e.last = nil
		}
	}
	e.next += e.interval
	e.emitted = true
	return nil
}

func (e *eventBatcher) newBatcher() *Batcher {
	if n := len(e.free); n > 0 {
		b := e.free[n-1]
		e.free = e.free[:n-1]
		return b
	}
	return e.common.batcher()
}
