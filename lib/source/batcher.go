package source

import (
	"dstream/lib/frame"
	"dstream/lib/stage"
)

// arenaChunk is the size of an arena's chunks. Chunks never move once
// filled, so records can point into them while later lines are added.
const arenaChunk = 1 << 20

// arena holds the bytes of one batch's records. reset keeps the chunks for
// the next batch.
type arena struct {
	chunks [][]byte
	cur    int // index of the chunk being filled
}

// copy returns a copy of b that stays valid until reset.
func (a *arena) copy(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	for {
		if a.cur == len(a.chunks) {
			a.chunks = append(a.chunks, make([]byte, 0, max(arenaChunk, len(b))))
		}
		c := a.chunks[a.cur]
		if cap(c)-len(c) >= len(b) {
			n := len(c)
			c = append(c, b...)
			a.chunks[a.cur] = c
			return c[n:len(c):len(c)]
		}
		if len(c) == 0 {
			// A line longer than this empty chunk: give it its own.
			a.chunks[a.cur] = make([]byte, 0, len(b))
			continue
		}
		a.cur++
	}
}

func (a *arena) reset() {
	for i := 0; i <= a.cur && i < len(a.chunks); i++ {
		a.chunks[i] = a.chunks[i][:0]
	}
	a.cur = 0
}

// Batcher builds batches: records are added in input order and emitted as
// one batch split into contiguous partitions, in chunks (frames) of at most
// Chunk bytes of records when it is bigger.
type Batcher struct {
	Interval   int64 // ms
	Partitions int   // >= 1
	Chunk      int   // 0: DefaultChunk

	recs  []frame.Record
	arena arena
	size  int // encoded size of the records, as the frame will hold them
	batch frame.Batch
}

// NewBatcher returns a Batcher of batches of interval ms in parts partitions.
func NewBatcher(interval int64, parts int) *Batcher {
	return &Batcher{Interval: interval, Partitions: max(parts, 1)}
}

// Add copies a record into the batch.
func (b *Batcher) Add(key []byte, keyed bool, value []byte) {
	r := frame.Record{Value: b.arena.copy(value), Keyed: keyed}
	if keyed {
		r.Key = b.arena.copy(key)
	}
	b.addRecord(r)
}

// AddRef adds r without copying its bytes: they must stay valid until the
// batch is emitted.
func (b *Batcher) AddRef(r frame.Record) { b.addRecord(r) }

func (b *Batcher) addRecord(r frame.Record) {
	b.recs = append(b.recs, r)
	b.size += recordSize(&r)
}

// Len returns the number of records added since the last reset.
func (b *Batcher) Len() int { return len(b.recs) }

// Size returns an upper bound of the records' encoded size in a frame.
func (b *Batcher) Size() int { return b.size }

// Emit sends the records as the batch of time t and keeps them, so the same
// records can be emitted again (queue --default); call Reset to start anew.
func (b *Batcher) Emit(out stage.Emitter, t int64) error { return b.emit(out, t, false) }

// EmitChunk sends the records as a chunk of the batch of time t, which
// more chunks will complete, and empties the Batcher for them.
func (b *Batcher) EmitChunk(out stage.Emitter, t int64) error {
	err := b.emit(out, t, true)
	b.Reset()
	return err
}

// emit sends the records in chunks of at most Chunk bytes; more says the
// batch goes on after them.
func (b *Batcher) emit(out stage.Emitter, t int64, more bool) error {
	chunk := b.Chunk
	if chunk <= 0 {
		chunk = DefaultChunk
	}
	b.batch.Time, b.batch.Interval = t, b.Interval
	recs := b.recs
	for {
		n := len(recs)
		if b.size > chunk {
			n = 0
			size := 0
			for n < len(recs) && (n == 0 || size+recordSize(&recs[n]) <= chunk) {
				size += recordSize(&recs[n])
				n++
			}
		}
		b.batch.More = more || n < len(recs)
		b.batch.Partitions = Slice(b.batch.Partitions, recs[:n], b.Partitions)
		if err := out.Emit(&b.batch); err != nil {
			return err
		}
		recs = recs[n:]
		if len(recs) == 0 {
			return nil
		}
	}
}

// recordSize is an upper bound of a record's encoded size: worst-case
// varint lengths keep it cheap.
func recordSize(r *frame.Record) int { return len(r.Key) + len(r.Value) + 6 }

// Reset empties the batch, keeping its memory for the next one.
func (b *Batcher) Reset() {
	b.recs = b.recs[:0]
	b.arena.reset()
	b.size = 0
}

// EmitReset emits the batch of time t and empties it.
func (b *Batcher) EmitReset(out stage.Emitter, t int64) error {
	err := b.Emit(out, t)
	b.Reset()
	return err
}

// Slice cuts recs into p contiguous partitions, as Spark's parallelize does:
// partition i gets records [i*n/p, (i+1)*n/p). It reuses parts.
func Slice(parts []frame.Partition, recs []frame.Record, p int) []frame.Partition {
	if cap(parts) < p {
		parts = make([]frame.Partition, p)
	}
	parts = parts[:p]
	n := len(recs)
	for i := range parts {
		parts[i].Records = recs[i*n/p : (i+1)*n/p]
	}
	return parts
}
