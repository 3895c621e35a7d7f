package ops

// The join family (join, leftouterjoin, rightouterjoin, fullouterjoin,
// cogroup) shares one operator: the runtime (stage.MultiOperator) hands it
// the two inputs' whole batches of one time; it groups one side by key in a
// hash index and walks the other side in order, writing the output in
// chunks so that a batch with many pairs never sits whole in memory.

import (
	"bytes"
	"context"
	"fmt"
	"hash/maphash"

	"dstream/lib/frame"
	"dstream/lib/stage"
	"dstream/lib/text"
)

// alignNotes is the part of a two-input stage's description about how the
// inputs meet.
const alignNotes = `
The two inputs must have the same batch interval and deliver the same batch
times (an error names the first pair that differs); an input whose first
batch comes later counts as empty before it. One input racing ahead is read
at most --max-skew batches ahead, then blocked. When one input ends (EOS)
before the other, the output ends there too, with a warning that says what
of the other was left unread; STOP on either input stops the stage. BARRIER
n is forwarded (after the snapshot) once both inputs have sent it. Every
record must be keyed (KEY<TAB>VALUE; use keyby first); a value that is valid
JSON (a number, array, object, true, false, null) is embedded as is, any
other becomes a JSON string.`

type joinKind int

const (
	innerJoin joinKind = iota
	leftOuterJoin
	rightOuterJoin
	fullOuterJoin
	coGroup
)

func newJoin(kind joinKind) func(c *stage.Context) (any, error) {
	return func(c *stage.Context) (any, error) {
		return &joinOp{kind: kind, name: c.Spec.Name, other: c.Args().First()}, nil
	}
}

type joinOp struct {
	kind  joinKind
	name  string // the stage's, for errors
	other string // the named input
	// Reused from batch to batch.
	idx, idx2 keyIndex
	matched   []bool
	val       []byte // the probe record's value as JSON
	out       chunker
}

func (j *joinOp) Inputs() []string { return []string{j.other} }

func (j *joinOp) ProcessAligned(_ context.Context, bs []*frame.Batch, out stage.Emitter) error {
	l, r := bs[0], bs[1]
	switch j.kind {
	case coGroup:
		return j.cogroup(l, r, out)
	case rightOuterJoin:
		// leftOuterJoin with the sides swapped, values kept [v,w].
		if err := j.idx.build(l, j.name, "stdin"); err != nil {
			return err
		}
		return j.probe(r, j.other, out)
	default:
		if err := j.idx.build(r, j.name, j.other); err != nil {
			return err
		}
		return j.probe(l, "stdin", out)
	}
}

// probe walks batch b in order, each record against j.idx (the other
// side's records by key), and writes the pairs to b's partitions.
func (j *joinOp) probe(b *frame.Batch, side string, out stage.Emitter) error {
	swapped := j.kind == rightOuterJoin // b is the right side
	outer := j.kind != innerJoin
	parts := max(len(b.Partitions), 1)
	c := &j.out
	c.start(out, b, parts)
	defer c.stop()
	if j.kind == fullOuterJoin {
		j.matched = resize(j.matched, len(j.idx.keys))
		clear(j.matched)
	}
	n := 0
	for p, part := range b.Partitions {
		for _, rec := range part.Records {
			if !rec.Keyed {
				return noKey(b.Time, n, side, j.name)
			}
			n++
			j.val = text.AppendJSON(j.val[:0], rec.Value)
			g := j.idx.lookup(rec.Key)
			if g < 0 {
				if !outer {
					continue
				}
				s := len(c.buf)
				if swapped {
					c.buf = append(append(append(c.buf, "[null,"...), j.val...), ']')
				} else {
					c.buf = append(append(append(c.buf, '['), j.val...), ",null]"...)
				}
				c.record(p, rec.Key, s)
				continue
			}
			if j.kind == fullOuterJoin {
				j.matched[g] = true
			}
			for _, i := range j.idx.group(g) {
				s := len(c.buf)
				c.buf = append(c.buf, '[')
				if swapped {
					c.buf = append(append(append(c.buf, j.idx.value(i)...), ','), j.val...)
				} else {
					c.buf = append(append(append(c.buf, j.val...), ','), j.idx.value(i)...)
				}
				c.buf = append(c.buf, ']')
				c.record(p, rec.Key, s)
			}
		}
	}
	if j.kind == fullOuterJoin {
		// The right records whose key the left lacks, in right order.
		for i, g := range j.idx.gid {
			if j.matched[g] {
				continue
			}
			s := len(c.buf)
			c.buf = append(append(append(c.buf, "[null,"...), j.idx.value(int32(i))...), ']')
			c.record(parts-1, j.idx.keys[g], s)
		}
	}
	return c.end()
}

// cogroup writes one record per key, [[v...],[w...]]: the left's keys in
// order of first appearance, each in the partition of its first record,
// then the keys only the right has, in the last partition.
func (j *joinOp) cogroup(l, r *frame.Batch, out stage.Emitter) error {
	if err := j.idx.build(l, j.name, "stdin"); err != nil {
		return err
	}
	if err := j.idx2.build(r, j.name, j.other); err != nil {
		return err
	}
	parts := max(len(l.Partitions), 1)
	c := &j.out
	c.start(out, l, parts)
	defer c.stop()
	for g, key := range j.idx.keys {
		s := len(c.buf)
		c.buf = append(c.buf, '[')
		c.buf = j.idx.appendGroup(c.buf, int32(g))
		c.buf = append(c.buf, ',')
		if rg := j.idx2.lookup(key); rg >= 0 {
			c.buf = j.idx2.appendGroup(c.buf, rg)
		} else {
			c.buf = append(c.buf, "[]"...)
		}
		c.buf = append(c.buf, ']')
		c.record(int(j.idx.part[g]), key, s)
	}
	for g, key := range j.idx2.keys {
		if j.idx.lookup(key) >= 0 {
			continue
		}
		s := len(c.buf)
		c.buf = append(c.buf, "[[],"...)
		c.buf = j.idx2.appendGroup(c.buf, int32(g))
		c.buf = append(c.buf, ']')
		c.record(parts-1, key, s)
	}
	return c.end()
}

func noKey(t int64, n int, side, stage string) error {
	return fmt.Errorf("batch %d: record %d of %s has no key (%s wants keyed records; use keyby first)", t, n, side, stage)
}

// keyIndex is one side's batch grouped by key. Records are numbered in
// batch order, across partitions; groups in order of their key's first
// appearance.
type keyIndex struct {
	// An open-addressing hash table (linear probing, at most half full):
	// a slot holds the top 32 bits of its key's hash and group+1 below
	// them, or 0 when empty. The keys are copied side by side in karena:
	// a lookup touches a slot and, on a hash match, one key nearby, not
	// the batch's scattered records (cache misses are the cost here).
	seed   maphash.Seed
	slots  []uint64
	hashes []uint64 // group → its key's hash
	karena []byte
	kend   []int // group → end of its key in karena

	keys  [][]byte // group → key (in the batch, valid during the call)
	part  []int32  // group → partition of its first record
	gid   []int32  // record → group
	start []int32  // group g's records are order[start[g]:start[g+1]]
	order []int32  // records by group, in batch order within one
	pos   []int32
	enc   []byte // the records' values as JSON, back to back
	end   []int  // record → end of its value in enc
}

func (x *keyIndex) build(b *frame.Batch, stage, side string) error {
	if x.slots == nil {
		x.seed = maphash.MakeSeed()
	}
	// The table grows with the keys, not the records: a small table
	// stays in the cache.
	x.slots = resize(x.slots, 1024)
	clear(x.slots)
	x.keys, x.hashes, x.part, x.gid, x.enc, x.end = x.keys[:0], x.hashes[:0], x.part[:0], x.gid[:0], x.enc[:0], x.end[:0]
	x.karena, x.kend = x.karena[:0], x.kend[:0]
	n := 0
	for p, part := range b.Partitions {
		for _, rec := range part.Records {
			if !rec.Keyed {
				return noKey(b.Time, n, side, stage)
			}
			n++
			h := maphash.Bytes(x.seed, rec.Key)
			slot, g := x.find(rec.Key, h)
			if g < 0 {
				g = int32(len(x.keys))
				if 2*(len(x.keys)+1) > len(x.slots) {
					x.grow()
					slot, _ = x.find(rec.Key, h)
				}
				x.slots[slot] = slotOf(h, g)
				x.keys = append(x.keys, rec.Key)
				x.hashes = append(x.hashes, h)
				x.karena = append(x.karena, rec.Key...)
				x.kend = append(x.kend, len(x.karena))
				x.part = append(x.part, int32(p))
			}
			x.gid = append(x.gid, g)
			x.enc = text.AppendJSON(x.enc, rec.Value)
			x.end = append(x.end, len(x.enc))
		}
	}
	// A counting sort by group keeps batch order within each group.
	x.start = resize(x.start, len(x.keys)+1)
	clear(x.start)
	for _, g := range x.gid {
		x.start[g+1]++
	}
	for g := 1; g < len(x.start); g++ {
		x.start[g] += x.start[g-1]
	}
	x.pos = append(x.pos[:0], x.start[:len(x.keys)]...)
	x.order = resize(x.order, len(x.gid))
	for i, g := range x.gid {
		x.order[x.pos[g]] = int32(i)
		x.pos[g]++
	}
	return nil
}

// find returns key's group, or -1 and the empty slot for it.
func (x *keyIndex) find(key []byte, h uint64) (slot int, g int32) {
	mask := len(x.slots) - 1
	for i := int(h) & mask; ; i = (i + 1) & mask {
		s := x.slots[i]
		if s == 0 {
			return i, -1
		}
		if s>>32 == h>>32 {
			g := int32(uint32(s)) - 1
			lo := 0
			if g > 0 {
				lo = x.kend[g-1]
			}
			if bytes.Equal(x.karena[lo:x.kend[g]], key) {
				return i, g
			}
		}
	}
}

func slotOf(h uint64, g int32) uint64 { return h&^0xffffffff | uint64(g+1) }

// grow doubles the table.
func (x *keyIndex) grow() {
	x.slots = make([]uint64, 2*len(x.slots))
	mask := len(x.slots) - 1
	for g, h := range x.hashes {
		i := int(h) & mask
		for x.slots[i] != 0 {
			i = (i + 1) & mask
		}
		x.slots[i] = slotOf(h, int32(g))
	}
}

// lookup returns key's group, or -1.
func (x *keyIndex) lookup(key []byte) int32 {
	_, g := x.find(key, maphash.Bytes(x.seed, key))
	return g
}

func (x *keyIndex) group(g int32) []int32 { return x.order[x.start[g]:x.start[g+1]] }

func (x *keyIndex) value(i int32) []byte {
	lo := 0
	if i > 0 {
		lo = x.end[i-1]
	}
	return x.enc[lo:x.end[i]]
}

// appendGroup appends group g's values as a JSON array.
func (x *keyIndex) appendGroup(dst []byte, g int32) []byte {
	dst = append(dst, '[')
	for k, i := range x.group(g) {
		if k > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, x.value(i)...)
	}
	return append(dst, ']')
}

func resize[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// chunker collects output records and emits them in chunks of about
// frame.DefaultChunk bytes (More set on all but the last), so a join's
// output, which may be many times its input, is never held whole. A
// goroutine emits (encodes and writes) each chunk while the next one
// fills: that costs about as much as making it.
type chunker struct {
	buf  []byte // the values of the current chunk's records
	size int    // bytes of keys and values in the current chunk
	cur  *outChunk
	free []*outChunk // two in all: one filling, one being written

	toWrite chan *outChunk
	written chan *outChunk
	done    chan error
}

type outChunk struct {
	b   frame.Batch
	buf []byte
}

// start begins an output batch of like's time and interval with parts
// partitions; end or stop must follow.
func (c *chunker) start(out stage.Emitter, like *frame.Batch, parts int) {
	for len(c.free) < 2 {
		// Room for a chunk and one big value: values point into buf,
		// so it should rarely grow while a chunk fills.
		c.free = append(c.free, &outChunk{buf: make([]byte, 0, 2*frame.DefaultChunk)})
	}
	for _, ch := range c.free {
		ch.b.Time, ch.b.Interval = like.Time, like.Interval
		ch.b.Partitions = resize(ch.b.Partitions, parts)
	}
	c.toWrite, c.written, c.done = make(chan *outChunk), make(chan *outChunk, 2), make(chan error, 1)
	c.written <- c.free[1]
	c.take(c.free[0])
	go func(toWrite <-chan *outChunk, written chan<- *outChunk, done chan<- error) {
		var err error
		for ch := range toWrite {
			if err == nil {
				err = out.Emit(&ch.b)
			}
			written <- ch
		}
		done <- err
	}(c.toWrite, c.written, c.done)
}

func (c *chunker) take(ch *outChunk) {
	for i := range ch.b.Partitions {
		ch.b.Partitions[i].Records = ch.b.Partitions[i].Records[:0]
	}
	c.cur, c.buf, c.size = ch, ch.buf[:0], 0
}

// record adds the record key, buf[start:] to partition p.
func (c *chunker) record(p int, key []byte, start int) {
	v := c.buf[start:len(c.buf):len(c.buf)]
	c.cur.b.Partitions[p].Records = append(c.cur.b.Partitions[p].Records, frame.Record{Key: key, Value: v, Keyed: true})
	c.size += len(key) + len(v)
	if c.size >= frame.DefaultChunk {
		c.send(true)
		c.take(<-c.written)
	}
}

func (c *chunker) send(more bool) {
	c.cur.buf, c.cur.b.More = c.buf, more
	c.toWrite <- c.cur
}

// end emits the last chunk and returns the first error of an Emit.
func (c *chunker) end() error {
	c.send(false)
	return c.stop()
}

// stop waits for the writer and takes the chunks back.
func (c *chunker) stop() error {
	if c.toWrite == nil {
		return nil
	}
	close(c.toWrite)
	err := <-c.done
	c.toWrite = nil
	return err
}
