package ops

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"math"
	"os"
	"strconv"

	"dstream/lib/expr"
	"dstream/lib/frame"
	"dstream/lib/stage"
	"dstream/lib/text"
)

// keyStates is the keyed state of updatestatebykey and mapwithstate: key →
// state text, with the keys in the order they entered the state (the
// order of the stages' output, which a restore keeps).
//
// It holds millions of keys without a Go allocation per key (a
// map[string]string costs two allocations and some 80 bytes a key): keys
// and states live in two byte arenas, one 24-byte entry per key holds
// their offsets and lengths, and an open-addressing index of 8-byte slots
// maps a key's hash to its entry. A removed key leaves a dead entry and
// dead arena bytes behind until compact rebuilds the table, which the
// stages call between batches, so entry numbers are stable within a batch.
type keyStates struct {
	keys, vals []byte
	ents       []ksEntry
	// index is linear-probing, at most 3/4 full. A slot is 0 when empty,
	// else the low 32 bits of the key's hash << 32 | entry+1; the hash
	// bits give the slot's home without reading the key, for growing and
	// for deleting without tombstones.
	index    []uint64
	live     int // entries not removed
	deadKeys int // arena bytes of removed keys
	deadVals int // arena bytes of replaced or removed states
	seed     maphash.Seed

	// mark is a per-entry int32 the stages use within a batch (0 between
	// batches): updatestatebykey numbers the keys that have values.
	mark []int32
	// seen, when timed, is the time of the batch in which each entry last
	// had a record (mapwithstate --timeout).
	timed bool
	seen  []int64

	sink uint64 // keeps prefetch's reads from being optimized away
}

type ksEntry struct {
	kOff, vOff int
	kLen, vLen uint32 // kLen ksNone: removed; vLen ksNone: no state yet
}

const ksNone = math.MaxUint32

// maxStateLen bounds a key or a state; the frame size limit is far lower.
const maxStateLen = 1<<32 - 2

func newKeyStates(timed bool) *keyStates {
	return &keyStates{seed: maphash.MakeSeed(), timed: timed}
}

func (t *keyStates) key(e int) []byte {
	en := &t.ents[e]
	return t.keys[en.kOff : en.kOff+int(en.kLen) : en.kOff+int(en.kLen)]
}

// state returns entry e's state; ok is false when it has none yet.
func (t *keyStates) state(e int) (s []byte, ok bool) {
	en := &t.ents[e]
	if en.vLen == ksNone {
		return nil, false
	}
	return t.vals[en.vOff : en.vOff+int(en.vLen) : en.vOff+int(en.vLen)], true
}

// alive tells whether entry e holds a key (was not removed).
func (t *keyStates) alive(e int) bool { return t.ents[e].kLen != ksNone }

// hash returns the 32 bits of key's hash the index keeps.
func (t *keyStates) hash(key []byte) uint64 { return uint64(uint32(maphash.Bytes(t.seed, key))) }

// find returns key's entry, or -1 and where insert puts it: its hash
// bits << 32 | the empty slot that ended the search.
func (t *keyStates) find(key []byte) (e int, at uint64) { return t.findHash(key, t.hash(key)) }

// findHash is find for a key of hash h.
func (t *keyStates) findHash(key []byte, h uint64) (e int, at uint64) {
	if len(t.index) == 0 {
		return -1, h << 32
	}
	mask := uint64(len(t.index) - 1)
	for p := h & mask; ; p = (p + 1) & mask {
		s := t.index[p]
		if s == 0 {
			return -1, h<<32 | p
		}
		if s>>32 == h {
			if e := int(uint32(s)) - 1; bytes.Equal(t.key(e), key) {
				return e, h << 32
			}
		}
	}
}

// insert adds key, which find did not find (at is what it returned, and
// nothing was inserted since), with no state.
func (t *keyStates) insert(key []byte, at uint64) (int, error) {
	if len(key) > maxStateLen || len(t.ents) >= math.MaxUint32-1 {
		return 0, errors.New("the state table is full (2^32 keys or a 4 GiB key)")
	}
	h, p := at>>32, at&0xffffffff
	if (t.live+1)*4 > len(t.index)*3 {
		t.growIndex(max(2*len(t.index), 1024))
		p = t.free(h)
	}
	e := len(t.ents)
	t.ents = append(t.ents, ksEntry{kOff: len(t.keys), kLen: uint32(len(key)), vLen: ksNone})
	t.keys = append(t.keys, key...)
	t.mark = append(t.mark, 0)
	if t.timed {
		t.seen = append(t.seen, 0)
	}
	t.index[p] = h<<32 | uint64(e+1)
	t.live++
	return e, nil
}

// free returns the first empty slot of hash h's probe sequence.
func (t *keyStates) free(h uint64) uint64 {
	mask := uint64(len(t.index) - 1)
	p := h & mask
	for t.index[p] != 0 {
		p = (p + 1) & mask
	}
	return p
}

// place puts entry e of hash h in the index.
func (t *keyStates) place(h uint64, e int) { t.index[t.free(h)] = h<<32 | uint64(e+1) }

// growIndex rebuilds the index with n slots (a power of two) from the
// slots' hash bits, without reading a key.
func (t *keyStates) growIndex(n int) {
	old := t.index
	t.index = make([]uint64, n)
	for _, s := range old {
		if s != 0 {
			t.place(s>>32, int(uint32(s))-1)
		}
	}
}

// set gives entry e the state s (copied). A state no longer than the one
// it replaces is written in place.
func (t *keyStates) set(e int, s []byte) error {
	if len(s) > maxStateLen {
		return fmt.Errorf("a state of %d bytes is too big (the limit is 4 GiB)", len(s))
	}
	en := &t.ents[e]
	if en.vLen != ksNone {
		if len(s) <= int(en.vLen) {
			copy(t.vals[en.vOff:], s)
			t.deadVals += int(en.vLen) - len(s)
			en.vLen = uint32(len(s))
			return nil
		}
		t.deadVals += int(en.vLen)
	}
	en.vOff, en.vLen = len(t.vals), uint32(len(s))
	t.vals = append(t.vals, s...)
	return nil
}

// remove removes entry e's key and state.
func (t *keyStates) remove(e int) {
	key := t.key(e)
	h := t.hash(key)
	mask := uint64(len(t.index) - 1)
	want := h<<32 | uint64(e+1)
	p := h & mask
	for t.index[p] != want {
		p = (p + 1) & mask
	}
	// Backward-shift deletion: move later slots of the probe run into the
	// hole when their home allows it, so lookups need no tombstones.
	for {
		t.index[p] = 0
		q := p
		for {
			q = (q + 1) & mask
			s := t.index[q]
			if s == 0 {
				goto done
			}
			home := (s >> 32) & mask
			// s may move to p unless its home lies cyclically in (p, q].
			if (p < q && (home <= p || home > q)) || (p > q && home <= p && home > q) {
				t.index[p] = s
				p = q
				break
			}
		}
	}
done:
	en := &t.ents[e]
	t.deadKeys += int(en.kLen)
	if en.vLen != ksNone {
		t.deadVals += int(en.vLen)
	}
	en.kLen, en.vLen = ksNone, ksNone
	t.live--
}

// compact rebuilds the table without its dead entries and bytes once they
// outweigh the live ones, keeping the entries' order. Entry numbers change:
// call it between batches only.
func (t *keyStates) compact() {
	dead := len(t.ents) - t.live
	if dead > 1024 && dead > t.live {
		t.compactEntries()
		return
	}
	if t.deadVals > 1<<20 && t.deadVals > len(t.vals)/2 {
		vals := make([]byte, 0, len(t.vals)-t.deadVals)
		for e := range t.ents {
			en := &t.ents[e]
			if en.vLen != ksNone {
				off := len(vals)
				vals = append(vals, t.vals[en.vOff:en.vOff+int(en.vLen)]...)
				en.vOff = off
			}
		}
		t.vals, t.deadVals = vals, 0
	}
}

func (t *keyStates) compactEntries() {
	keys := make([]byte, 0, len(t.keys)-t.deadKeys)
	vals := make([]byte, 0, len(t.vals)-t.deadVals)
	ents := make([]ksEntry, 0, t.live)
	var seen []int64
	if t.timed {
		seen = make([]int64, 0, t.live)
	}
	// renum maps an old entry number to its new one, to rewrite the
	// index's slots in place.
	renum := make([]uint32, len(t.ents))
	for e, en := range t.ents {
		if en.kLen == ksNone {
			continue
		}
		renum[e] = uint32(len(ents))
		n := ksEntry{kOff: len(keys), kLen: en.kLen, vLen: en.vLen}
		keys = append(keys, t.keys[en.kOff:en.kOff+int(en.kLen)]...)
		if en.vLen != ksNone {
			n.vOff = len(vals)
			vals = append(vals, t.vals[en.vOff:en.vOff+int(en.vLen)]...)
		}
		ents = append(ents, n)
		if t.timed {
			seen = append(seen, t.seen[e])
		}
	}
	for i, s := range t.index {
		if s != 0 {
			t.index[i] = s&^0xffffffff | uint64(renum[int(uint32(s))-1]+1)
		}
	}
	t.keys, t.vals, t.ents, t.seen = keys, vals, ents, seen
	t.mark = make([]int32, len(ents))
	t.deadKeys, t.deadVals = 0, 0
	if n := indexSize(t.live); 4*n <= len(t.index) {
		t.growIndex(2 * n) // room to grow again before the next resize
	}
}

// indexSize is the index size for n keys: the smallest power of two (of
// at least 1024) that they fill at most 3/4.
func indexSize(n int) int {
	size := 1024
	for size*3 < n*4 {
		size *= 2
	}
	return size
}

// reset empties the table.
func (t *keyStates) reset() {
	*t = keyStates{seed: t.seed, timed: t.timed}
}

// The snapshot of a keyStates, after the stage's own header (see
// updatestatebykey.go and mapwithstate.go), is three uvarints, the number
// of keys and the bytes of their keys and of their states, then the keys
// in order as BATCH frames (package frame: time 0, interval 0, one
// partition) of keyed records KEY → STATE, the last frame without More, at
// least one frame, and nothing after it. When the table is timed, a
// record's value is the uvarint of the entry's seen time subtracted from
// base (the stage's last batch time), followed by the state. The runtime
// compresses the snapshot and adds a header and a CRC; the frames' own
// CRCs and lengths let Restore reject a cut or damaged snapshot, and the
// counts are checked against what arrives.

// ksChunk is the record bytes of one snapshot frame.
const ksChunk = 1 << 20

// writeTo writes the counts and the entries as snapshot frames.
func (t *keyStates) writeTo(w io.Writer, base int64) error {
	head := binary.AppendUvarint(nil, uint64(t.live))
	head = binary.AppendUvarint(head, uint64(len(t.keys)-t.deadKeys))
	head = binary.AppendUvarint(head, uint64(len(t.vals)-t.deadVals))
	if _, err := w.Write(head); err != nil {
		return err
	}
	fw := frame.NewWriter(w, frame.CodecNone, 0)
	b := frame.Batch{Partitions: make([]frame.Partition, 1)}
	recs := make([]frame.Record, 0, 4096)
	var pre []byte // the timed prefixes and states of the chunk
	size := 0
	for e := range t.ents {
		if !t.alive(e) {
			continue
		}
		s, ok := t.state(e)
		if !ok {
			return fmt.Errorf("internal error: key %q has no state between batches", t.key(e))
		}
		if t.timed {
			start := len(pre)
			pre = binary.AppendUvarint(pre, uint64(base-t.seen[e]))
			pre = append(pre, s...)
			s = pre[start:]
		}
		recs = append(recs, frame.Record{Key: t.key(e), Value: s, Keyed: true})
		size += len(s) + int(t.ents[e].kLen) + 2
		if size >= ksChunk {
			b.More, b.Partitions[0].Records = true, recs
			if err := fw.WriteBatch(&b); err != nil {
				return err
			}
			recs, pre, size = recs[:0], pre[:0], 0
		}
	}
	b.More, b.Partitions[0].Records = false, recs
	return fw.WriteBatch(&b)
}

// readFrom loads writeTo's entries from r into the empty table. size, when
// not negative, is the bytes r holds. No count read is trusted: the table
// is sized for the counts at once only when the data can hold them (every
// record takes at least 2 bytes besides its key and state), else it grows
// as records arrive, a frame at a time; and the counts must match what
// arrives.
func (t *keyStates) readFrom(r *bufio.Reader, base int64, size int) error {
	var n, keyBytes, valBytes uint64
	for _, p := range []*uint64{&n, &keyBytes, &valBytes} {
		var err error
		if *p, err = binary.ReadUvarint(r); err != nil {
			return fmt.Errorf("snapshot header: %w", noEOF(err))
		}
	}
	if size >= 0 && n <= uint64(size)/2 && keyBytes <= uint64(size) && valBytes <= uint64(size) && 2*n+keyBytes+valBytes <= uint64(size) {
		t.reserve(int(n))
		t.keys = make([]byte, 0, keyBytes)
		t.vals = make([]byte, 0, valBytes)
	}
	fr := frame.NewReader(r, 0)
	got := uint64(0)
	var hashes [32]uint64
	for {
		f, err := fr.Next()
		if err == io.EOF {
			return fmt.Errorf("snapshot cut short after %d of %d keys", got, n)
		}
		if err != nil {
			return fmt.Errorf("snapshot: %w", err)
		}
		if f.Type != frame.TypeBatch {
			return fmt.Errorf("snapshot: a %s frame where state was expected", f.Type)
		}
		for _, p := range f.Batch.Partitions {
			if got+uint64(len(p.Records)) > n {
				return fmt.Errorf("snapshot: more than the %d keys its header gives", n)
			}
			t.reserve(len(p.Records))
			for recs := p.Records; len(recs) > 0; {
				g := recs[:min(len(recs), len(hashes))]
				recs = recs[len(g):]
				t.prefetch(g, hashes[:len(g)])
				for i := range g {
					if err := t.restoreRecord(&g[i], hashes[i], base); err != nil {
						return fmt.Errorf("snapshot: key %d: %w", got, err)
					}
					got++
				}
			}
		}
		if !f.Batch.More {
			break
		}
	}
	if got != n || uint64(len(t.keys)) != keyBytes || uint64(len(t.vals)) != valBytes {
		return fmt.Errorf("snapshot: %d keys of %d and %d bytes, its header gives %d of %d and %d bytes", got, len(t.keys), len(t.vals), n, keyBytes, valBytes)
	}
	if _, err := fr.Next(); err != io.EOF {
		return fmt.Errorf("snapshot: data after the state (%v)", err)
	}
	return nil
}

func (t *keyStates) restoreRecord(rec *frame.Record, h uint64, base int64) error {
	if !rec.Keyed {
		return errors.New("a record without a key")
	}
	e, at := t.findHash(rec.Key, h)
	if e >= 0 {
		return fmt.Errorf("key %q twice", rec.Key)
	}
	e, err := t.insert(rec.Key, at)
	if err != nil {
		return err
	}
	s := rec.Value
	if t.timed {
		age, n := binary.Uvarint(s)
		if n <= 0 {
			return fmt.Errorf("key %q: a bad time", rec.Key)
		}
		t.seen[e], s = base-int64(age), s[n:]
	}
	return t.set(e, s)
}

// prefetch sets hs to the hashes of recs' keys and reads their index
// slots. The reads do not depend on each other, so the CPU overlaps
// their cache misses; the lookups that follow find the slots in cache.
// A big index is beyond the TLB's reach: one lookup at a time, a miss
// costs 100-200 ns, which made a restore of 10M keys take 3-4 s.
func (t *keyStates) prefetch(recs []frame.Record, hs []uint64) {
	mask := uint64(len(t.index) - 1)
	var sink uint64
	for i := range recs {
		hs[i] = t.hash(recs[i].Key)
		if len(t.index) > 0 {
			sink += t.index[hs[i]&mask]
		}
	}
	t.sink = sink
}

// reserve makes room for n more entries, so that restoring a big state
// does not copy its entries and index over and over.
func (t *keyStates) reserve(n int) {
	if need := len(t.ents) + n; need > cap(t.ents) {
		want := max(need, 2*cap(t.ents))
		t.ents = append(make([]ksEntry, 0, want), t.ents...)
		t.mark = append(make([]int32, 0, want), t.mark...)
		if t.timed {
			t.seen = append(make([]int64, 0, want), t.seen...)
		}
	}
	if size := indexSize(t.live + n); size > len(t.index) {
		t.growIndex(size)
	}
}

// writeHeader writes a snapshot's header: version and then the stage's
// scalars, each a uvarint.
func writeHeader(w io.Writer, version uint64, vals ...uint64) error {
	b := binary.AppendUvarint(nil, version)
	for _, v := range vals {
		b = binary.AppendUvarint(b, v)
	}
	_, err := w.Write(b)
	return err
}

// readHeader reads writeHeader's header of a snapshot of the given version
// with len(vals) scalars.
func readHeader(r *bufio.Reader, version uint64, vals ...*uint64) error {
	v, err := binary.ReadUvarint(r)
	if err != nil {
		return fmt.Errorf("snapshot header: %w", noEOF(err))
	}
	if v != version {
		return fmt.Errorf("snapshot format %d, want %d", v, version)
	}
	for _, p := range vals {
		if *p, err = binary.ReadUvarint(r); err != nil {
			return fmt.Errorf("snapshot header: %w", noEOF(err))
		}
	}
	return nil
}

// noEOF turns the end of a snapshot where more was due into an error that
// says so.
func noEOF(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return errors.New("cut short")
	}
	return err
}

// snapshotReader is the buffered reader a Restore reads its header from;
// frame.NewReader takes it over as is (it is big enough), so no byte read
// ahead is lost. size is the bytes r holds, or -1 when it cannot tell
// (the runtime gives a bytes.Reader).
func snapshotReader(r io.Reader) (br *bufio.Reader, size int) {
	size = -1
	if l, ok := r.(interface{ Len() int }); ok {
		size = l.Len()
	}
	return bufio.NewReaderSize(r, 1<<20), size
}

// loadInitial seeds t from --initial FILE, KEY<TAB>STATE lines. check
// validates a state for the stage's function and returns the state to
// keep (a canonical number). Every error is a usage error naming the file
// and line.
func loadInitial(t *keyStates, path string, check func(s []byte) ([]byte, error)) error {
	data, err := os.ReadFile(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return stage.Usagef("--initial %s: %v", path, err)
	}
	all := data
	for line := 1; len(data) > 0; line++ {
		l := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			l, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		l = bytes.TrimSuffix(l, []byte{'\r'})
		k, s, ok := bytes.Cut(l, []byte{'\t'})
		if !ok {
			return stage.Usagef("--initial %s: line %d has no TAB (want KEY<TAB>STATE)", path, line)
		}
		e, at := t.find(k)
		if e >= 0 {
			return stage.Usagef("--initial %s: line %d: key %q again (first on line %d)", path, line, k, firstLine(all, k))
		}
		if check != nil {
			if s, err = check(s); err != nil {
				return stage.Usagef("--initial %s: line %d (key %q): %v", path, line, k, err)
			}
		}
		if e, err = t.insert(k, at); err == nil {
			err = t.set(e, s)
		}
		if err != nil {
			return stage.Usagef("--initial %s: line %d: %v", path, line, err)
		}
	}
	return nil
}

// firstLine returns the number of the first line of data with key k (a
// duplicate is rare: finding it again is cheaper than a map of every key).
func firstLine(data, k []byte) int {
	for line := 1; ; line++ {
		l, rest, _ := bytes.Cut(data, []byte{'\n'})
		if key, _, _ := bytes.Cut(l, []byte{'\t'}); bytes.Equal(key, k) {
			return line
		}
		data = rest
	}
}

// stateFns are the named functions of updatestatebykey and mapwithstate,
// as ReduceFns.
var stateFnNames = []string{"sum", "count", "last", "max", "min"}

const stateFnList = "sum, count, last, max, min"

var stateFns = []ReduceFn{FnSum, FnCount, FnLast, FnMax, FnMin}

// stateFn keeps a running state with a named function.
type stateFn struct{ red Reducer }

// checkInitial validates an --initial state for fn: a decimal for sum,
// min and max, a whole number of 0 or more for count, kept in canonical
// form.
func (f *stateFn) checkInitial(s []byte) ([]byte, error) {
	switch f.red.Fn {
	case FnSum, FnMin, FnMax:
		d, err := decimalParse(s)
		if err != nil {
			return nil, f.red.valueError(err)
		}
		return d, nil
	case FnCount:
		n, err := strconv.ParseInt(string(s), 10, 64)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("%q is not a count (count keeps whole numbers of 0 or more)", s)
		}
		return strconv.AppendInt(nil, n, 10), nil
	}
	return s, nil
}

// update appends the state after a's values to dst, given the previous
// state (had is false for a key without one). a holds at least one value.
func (f *stateFn) update(dst, prev []byte, had bool, a *Acc) ([]byte, error) {
	if !had {
		return f.red.Append(dst, a), nil
	}
	switch f.red.Fn {
	case FnCount:
		n, err := strconv.ParseInt(string(prev), 10, 64)
		if err != nil {
			return dst, fmt.Errorf("the state %q is not a count", prev)
		}
		return strconv.AppendInt(dst, n+a.n, 10), nil
	case FnLast:
		return f.red.Append(dst, a), nil
	}
	var old Acc
	if err := f.red.Add(&old, prev); err != nil {
		return dst, fmt.Errorf("the state %q is not a number", prev)
	}
	f.red.Merge(&old, a)
	return f.red.Append(dst, &old), nil
}

// decimalParse returns b's canonical decimal text.
func decimalParse(b []byte) ([]byte, error) {
	var a Acc
	r := Reducer{Fn: FnSum}
	if err := r.Add(&a, b); err != nil {
		return nil, err
	}
	return r.Append(nil, &a), nil
}

// stateArg is a value or a state as updatestatebykey's and mapwithstate's
// expressions see it: a number when its text is a JSON number (as
// reducebykey's a and b), true or false, decoded JSON for an array or
// object, else the text. So a state kept as text between batches comes back
// as the number, bool, list or map the expression returned. A string
// aliases b: the caller turns the result into text before b changes.
func stateArg(b []byte) any {
	if len(b) == 0 {
		return ""
	}
	switch c := b[0]; {
	case c == '-' || (c >= '0' && c <= '9'):
		if text.IsJSON(b) {
			if n, err := expr.Num(string(b)); err == nil {
				return n
			}
		}
	case string(b) == "true":
		return true
	case string(b) == "false":
		return false
	}
	return expr.ViewValue(b)
}

// keyedChunks builds a keyed output batch in chunks of about
// frame.DefaultChunk bytes, emitting each as it fills, so a state of
// millions of keys goes out without a batch of millions of records in
// memory. Records go to partition FNV-1a(key) mod parts.
type keyedChunks struct {
	parts int
	b     frame.Batch
	size  int
	buf   []byte // text of records that cannot alias the state
}

func (o *keyedChunks) begin(t, interval int64) {
	if len(o.b.Partitions) != o.parts {
		o.b.Partitions = make([]frame.Partition, o.parts)
	}
	o.b.Time, o.b.Interval = t, interval
	o.clear()
}

func (o *keyedChunks) clear() {
	for i := range o.b.Partitions {
		clear(o.b.Partitions[i].Records)
		o.b.Partitions[i].Records = o.b.Partitions[i].Records[:0]
	}
	o.size = 0
	o.buf = o.buf[:0]
}

// add adds a record whose bytes stay valid until the chunk is emitted.
func (o *keyedChunks) add(out stage.Emitter, key, val []byte) error {
	if err := o.room(out, key, val); err != nil {
		return err
	}
	o.put(key, val)
	return nil
}

// addCopy adds a record whose key and value are copied into the chunk's
// buffer (a state can change before the chunk goes out). Slices of the
// buffer taken before it grows keep the old array, which is not written
// again before the chunk is emitted.
func (o *keyedChunks) addCopy(out stage.Emitter, key, val []byte) error {
	if err := o.room(out, key, val); err != nil {
		return err
	}
	start := len(o.buf)
	o.buf = append(append(o.buf, key...), val...)
	mid := start + len(key)
	o.put(o.buf[start:mid:mid], o.buf[mid:len(o.buf):len(o.buf)])
	return nil
}

// room emits the chunk so far if the record would take it past the
// chunk size.
func (o *keyedChunks) room(out stage.Emitter, key, val []byte) error {
	if o.size > 0 && o.size+len(key)+len(val)+2 > frame.DefaultChunk {
		return o.emit(out, true)
	}
	return nil
}

func (o *keyedChunks) put(key, val []byte) {
	p := 0
	if o.parts > 1 {
		p = int(fnv1a(key) % uint32(o.parts))
	}
	o.b.Partitions[p].Records = append(o.b.Partitions[p].Records, frame.Record{Key: key, Value: val, Keyed: true})
	o.size += len(key) + len(val) + 2
}

// emit emits the records so far as a chunk (more) or as the batch's end.
func (o *keyedChunks) emit(out stage.Emitter, more bool) error {
	o.b.More = more
	err := out.Emit(&o.b)
	o.clear()
	return err
}
