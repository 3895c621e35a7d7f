package source

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"

	"dstream/lib/stage"
)

// A WAL (produce --wal) makes an input that cannot be read again (stdin,
// a named pipe, a socket, the files of a watched directory) rewindable in
// the sense of Checkpoints: what produce reads is appended to a
// write-ahead log in its checkpoint directory before any of it is batched,
// and a restart reads the log first, as the input read again, then goes
// on with the live input. Batches are then cut again as for files: by
// batches.log in processing time, by the records' times in event time.
//
// The log is DIR/<id>/wal/ (0700), a run of segment files 00000001,
// 00000002, ... (0600). A segment is the magic "dswal01\n" then records:
//
//	type     1 byte: 'S' segment start, 'B' begin input, 'D' data, 'E' end of input
//	length   uint32, little endian: the payload's
//	crc      uint32, little endian: CRC-32C of type, length and payload
//	payload  S: see walStart; B: the input's name; D: bytes as read; E: none
//
// Every segment starts with an S record: how many records (as the parser
// makes them) come before it and, when it starts inside an input, that
// input's name, lines so far, header line (--header) and unfinished line.
// So a segment can be read without the ones before it: that is what lets
// the log be cut (see below). Each run starts a new segment; a segment is
// closed (fsynced) once it passes WALConfig.SegmentSize.
//
// Durability: a chunk is written (write(2): it survives the process) before
// it is handed on to be split, and the log is fsynced before each barrier's
// record is written (Checkpoints.wal), not per chunk. A crash can tear the
// last record of the last segment: a restart cuts it off. An input that
// never ended (a crash, a stop) is read again up to its last whole line:
// its unfinished line was never a record. A watched file is logged whole
// before any of it is read, so one whose E is missing was never batched:
// it is left out, and read again if it is still in the directory.
//
// Garbage collection: a restart needs the records from the committed
// checkpoint's batch on, whose count batches.log gives. Once a checkpoint
// is committed, the segments before the last one that starts at or before
// its count are removed, and a restart reads the log from that segment,
// with the boundaries' counts shifted to it (Checkpoints.rebase). This
// needs boundaries, so it is done in processing time only: in event time
// a restart rebuilds the batcher from the first record, and the log is
// kept whole.
type WAL struct {
	cfg WALConfig
	cp  *Checkpoints
	dir string

	mu      sync.Mutex
	segs    []walSeg // oldest first; the last one is written
	f       *os.File // the last segment, nil before Open and after close
	size    int64    // its size
	dirty   bool     // the directory has entries to make durable
	err     error    // a failed write: the segment may hold half a record
	cnt     lineCount
	inInput bool
	name    string // of the input being logged
	hdr     [walRecHeader]byte

	replay   []walInput // what a restart reads again
	replayed bool       // the live input has begun: old segments are no longer read
	unended  string     // Whole: the file being logged when the last run stopped
}

// WALConfig configures a WAL.
type WALConfig struct {
	// Header: the first line of every input is a header, not a record
	// (--header). The log counts records as the parser does.
	Header bool
	// Whole: each input is logged whole before it is read (--watch);
	// otherwise chunk by chunk as it is read.
	Whole bool
	// SegmentSize: a segment is closed once it is this big; 0 is
	// DefaultWALSegment.
	SegmentSize int64
	Log         *slog.Logger
}

// DefaultWALSegment is the default WALConfig.SegmentSize.
const DefaultWALSegment = 64 << 20

const (
	walDirName   = "wal"
	walMagic     = "dswal01\n"
	walRecHeader = 9

	walStart byte = 'S'
	walBegin byte = 'B'
	walData  byte = 'D'
	walEnd   byte = 'E'
)

var crc32c = crc32.MakeTable(crc32.Castagnoli)

var errWALClosed = errors.New("--wal: the log is closed")

// walSeg is a segment: its number, and the records before it.
type walSeg struct {
	seq   uint64
	start int64
}

// walInput is an input as the log has it, to be read again.
type walInput struct {
	name   string
	prefix []byte // a resumed input's header line and unfinished line
	parts  []walPart
	size   int64 // prefix and parts
	limit  int64 // the bytes to read again: all, or up to the last whole line of an input that never ended
}

// walPart is the payload of a D record.
type walPart struct {
	seq uint64
	off int64
	n   int64
}

// NewWAL returns the log of cp's directory; nothing is read or written
// before Open.
func NewWAL(cp *Checkpoints, cfg WALConfig) *WAL {
	if cfg.SegmentSize <= 0 {
		cfg.SegmentSize = DefaultWALSegment
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &WAL{cfg: cfg, cp: cp, dir: filepath.Join(cp.Dir.Path, walDirName)}
}

// Open reads the log after cp.Open: it checks it, cuts a torn tail, finds
// where a restart from the committed checkpoint reads from, removes the
// segments before, shifts cp's boundaries there, and starts this run's
// segment. From then on cp syncs the log at each barrier.
func (w *WAL) Open() error {
	if err := os.Mkdir(w.dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("--wal: %w", err)
	}
	if err := os.Chmod(w.dir, 0o700); err != nil {
		return fmt.Errorf("--wal: %w", err)
	}
	segs, err := w.list()
	if err != nil {
		return err
	}
	cp := w.cp
	// want: the records the committed checkpoint covers, when its batch
	// has a boundary (processing time); else the replay starts at 0.
	var want int64
	if cp.restarted {
		if i, ok := findBound(cp.bounds, cp.skipTo); ok {
			want = cp.bounds[i].count
		}
		if len(segs) == 0 && want > 0 {
			return fmt.Errorf("--wal: a checkpoint covering %d records is committed, but %s holds no log of them: was the last run without --wal, or with another --id?", want, w.dir)
		}
	}
	first := 0
	for i, s := range segs {
		if s.start <= want {
			first = i
		}
	}
	var base int64
	if len(segs) > 0 {
		switch base = segs[first].start; {
		case base > want && !cp.restarted:
			return fmt.Errorf("--wal: no checkpoint is committed, so produce reads its log from the start, but %s starts at record %d: the segments before were removed once a checkpoint was committed; to start over, remove the whole checkpoint directory", w.segPath(segs[first].seq), base)
		case base > want:
			return fmt.Errorf("--wal: %s starts at record %d, but a restart needs the log from record %d on: its older segments are missing", w.segPath(segs[first].seq), base, want)
		}
	}
	w.segs = segs
	have, err := w.scan(segs[first:])
	if err != nil {
		return err
	}
	if have < want {
		return fmt.Errorf("--wal: %s holds %d records, fewer than the %d the committed checkpoint covers: it lost records it had made durable", w.dir, have, want)
	}
	if err := w.remove(first); err != nil {
		return err
	}
	dropped, err := cp.rebase(base, have)
	if err != nil {
		return err
	}
	if dropped > 0 {
		w.cfg.Log.Warn("batches.log has batches past the records of the write-ahead log (lost in a crash of the machine?): they are made again by the clock", "batches", dropped, "records", have)
	}
	seq := uint64(1)
	if len(w.segs) > 0 {
		seq = w.segs[len(w.segs)-1].seq + 1
	}
	w.cnt = lineCount{header: w.cfg.Header, keep: true, records: have}
	if err := w.create(seq); err != nil {
		w.close()
		return err
	}
	cp.wal = w
	return nil
}

func (w *WAL) segPath(seq uint64) string {
	return filepath.Join(w.dir, fmt.Sprintf("%08d", seq))
}

// list returns the segments in order, after checking that none is missing;
// a last segment torn before its start record ends is removed.
func (w *WAL) list() ([]walSeg, error) {
	entries, err := os.ReadDir(w.dir)
	if err != nil {
		return nil, fmt.Errorf("--wal: %w", err)
	}
	var seqs []uint64
	for _, e := range entries {
		n, err := strconv.ParseUint(e.Name(), 10, 64)
		if err == nil && len(e.Name()) >= 8 && e.Type().IsRegular() {
			seqs = append(seqs, n)
		}
	}
	slices.Sort(seqs)
	var segs []walSeg
	for i, seq := range seqs {
		if i > 0 && seq != seqs[i-1]+1 {
			return nil, fmt.Errorf("--wal: %s is missing (the log goes from %s to %s)", w.segPath(seqs[i-1]+1), w.segPath(seqs[i-1]), w.segPath(seq))
		}
		st, torn, err := readStart(w.segPath(seq))
		if torn && i == len(seqs)-1 {
			// Made just before a crash: it holds nothing.
			w.cfg.Log.Warn("the write-ahead log's last segment is torn before its start record (produce stopped while making it): removed", "file", w.segPath(seq))
			if err := os.Remove(w.segPath(seq)); err != nil {
				return nil, fmt.Errorf("--wal: %w", err)
			}
			break
		}
		if err != nil {
			return nil, err
		}
		segs = append(segs, walSeg{seq: seq, start: st.count})
	}
	return segs, nil
}

// remove deletes the segments before w.segs[k].
func (w *WAL) remove(k int) error {
	for _, s := range w.segs[:k] {
		if err := os.Remove(w.segPath(s.seq)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("--wal: %w", err)
		}
	}
	w.segs = append(w.segs[:0], w.segs[k:]...)
	return nil
}

// readStart reads a segment's start record; torn says the file ends before
// it does.
func readStart(path string) (st walStartRec, torn bool, err error) {
	sr, err := openSegment(path)
	if err != nil {
		return st, false, err
	}
	defer sr.close()
	typ, p, err := sr.next()
	if err == io.EOF || errors.As(err, new(*tornError)) {
		return st, true, fmt.Errorf("--wal: %s: torn before its start record", path)
	}
	if err != nil {
		return st, false, err
	}
	if typ != walStart {
		return st, false, sr.corrupt(sr.magicLen(), "want the start record first")
	}
	st, err = decodeStart(p)
	if err != nil {
		return st, false, sr.corrupt(sr.magicLen(), err.Error())
	}
	return st, false, nil
}

// scan reads segs, the log a restart reads again: it checks every record,
// cuts a torn tail off the last segment, lists the inputs in w.replay and
// returns the number of records they make with the ones before segs[0].
func (w *WAL) scan(segs []walSeg) (int64, error) {
	cnt := lineCount{header: w.cfg.Header}
	cur := -1 // the input being read, in w.replay
	var curName string
	var atBegin int64 // records before it
	// unended ends the current input, which has no E record.
	unended := func(final bool) {
		in := &w.replay[cur]
		if w.cfg.Whole {
			// Never batched: none of its lines were records.
			w.replay = w.replay[:cur]
			cnt.records = atBegin
			if final {
				w.unended = curName
				w.cfg.Log.Warn("a watched file was being logged when produce stopped; none of it went out, it is read again", "file", curName)
			}
		} else {
			in.limit = in.size - cnt.tail
			if final && cnt.tail > 0 {
				w.cfg.Log.Warn("the logged input ended inside a line when produce stopped: its unfinished last line was never a record, it is left out", "input", curName, "bytes", cnt.tail)
			}
		}
		cnt.begin()
		cur = -1
	}
	begin := func(name, display string) {
		w.replay = append(w.replay, walInput{name: display})
		cur, curName, atBegin = len(w.replay)-1, name, cnt.records
		cnt.begin()
	}
	for i, s := range segs {
		path := w.segPath(s.seq)
		last := i == len(segs)-1
		sr, err := openSegment(path)
		if err != nil {
			return 0, err
		}
		for {
			off := sr.off
			typ, p, err := sr.next()
			if err == io.EOF {
				break
			}
			if errors.As(err, new(*tornError)) && last {
				w.cfg.Log.Warn("the write-ahead log ends with a torn record (produce stopped while writing it): cut off", "file", path, "offset", off)
				if err := os.Truncate(path, off); err != nil {
					sr.close()
					return 0, fmt.Errorf("--wal: %w", err)
				}
				break
			}
			if err != nil {
				sr.close()
				return 0, err
			}
			if (off == sr.magicLen()) != (typ == walStart) {
				sr.close()
				return 0, sr.corrupt(off, "a segment has one start record, first")
			}
			var bad string
			switch typ {
			case walStart:
				st, err := decodeStart(p)
				switch {
				case err != nil:
					bad = err.Error()
				case i == 0:
					cnt.records = st.count
					if st.inInput {
						prefix, skipped := st.prefix(w.cfg.Header)
						begin(st.name, fmt.Sprintf("%s after line %d", st.name, skipped))
						in := &w.replay[cur]
						in.prefix = prefix
						in.size = int64(len(prefix))
						cnt.add(prefix)
						atBegin = st.count
					}
				case st.count != cnt.records:
					bad = fmt.Sprintf("the segment starts at record %d, but the ones before end at record %d", st.count, cnt.records)
				case st.inInput && (cur < 0 || curName != st.name):
					bad = fmt.Sprintf("the segment goes on with input %q, which the one before does not end in", st.name)
				case !st.inInput && cur >= 0:
					unended(false) // a run that stopped inside it
				}
			case walBegin:
				if cur >= 0 {
					unended(false)
				}
				begin(string(p), string(p))
			case walData:
				if cur < 0 {
					bad = "data outside an input"
					break
				}
				in := &w.replay[cur]
				in.parts = append(in.parts, walPart{seq: s.seq, off: off + walRecHeader, n: int64(len(p))})
				in.size += int64(len(p))
				cnt.add(p)
			case walEnd:
				if cur < 0 {
					bad = "the end of no input"
					break
				}
				w.replay[cur].limit = w.replay[cur].size
				cnt.end()
				cur = -1
			}
			if bad != "" {
				sr.close()
				return 0, sr.corrupt(off, bad)
			}
		}
		sr.close()
	}
	if cur >= 0 {
		unended(true)
	}
	return cnt.records, nil
}

// create starts segment seq with the state of the input being logged.
func (w *WAL) create(seq uint64) error {
	path := w.segPath(seq)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return w.fail(err)
	}
	w.f, w.size, w.dirty = f, 0, true
	if _, err := f.WriteString(walMagic); err != nil {
		return w.fail(err)
	}
	w.size = int64(len(walMagic))
	st := walStartRec{count: w.cnt.records, inInput: w.inInput, name: w.name, lines: w.cnt.lines, head: w.cnt.head, partial: w.cnt.partial}
	if err := w.write(walStart, appendStart(nil, st)); err != nil {
		return err
	}
	w.segs = append(w.segs, walSeg{seq: seq, start: w.cnt.records})
	return nil
}

// roll closes the segment, durable, and starts the next one.
func (w *WAL) roll() error {
	if err := w.f.Sync(); err != nil {
		return w.fail(err)
	}
	if err := w.f.Close(); err != nil {
		return w.fail(err)
	}
	return w.create(w.segs[len(w.segs)-1].seq + 1)
}

// usable tells whether the log can be written.
func (w *WAL) usable() error {
	if w.err != nil {
		return w.err
	}
	if w.f == nil {
		return errWALClosed
	}
	return nil
}

// fail makes a write error sticky: after half a record, more would be
// corruption rather than a torn tail.
func (w *WAL) fail(err error) error {
	if w.err == nil {
		w.err = fmt.Errorf("--wal: %w", err)
	}
	return w.err
}

// write appends a record: the header, then the payload.
func (w *WAL) write(typ byte, p []byte) error {
	h := w.hdr[:]
	h[0] = typ
	binary.LittleEndian.PutUint32(h[1:5], uint32(len(p)))
	crc := crc32.Update(crc32.Update(0, crc32c, h[:5]), crc32c, p)
	binary.LittleEndian.PutUint32(h[5:9], crc)
	if _, err := w.f.Write(h); err != nil {
		return w.fail(err)
	}
	if len(p) > 0 {
		if _, err := w.f.Write(p); err != nil {
			return w.fail(err)
		}
	}
	w.size += int64(walRecHeader + len(p))
	return nil
}

// begin logs the start of a live input: the replay is over.
func (w *WAL) begin(name string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.beginLocked(name)
}

func (w *WAL) beginLocked(name string) error {
	if err := w.usable(); err != nil {
		return err
	}
	w.replayed = true
	if w.size >= w.cfg.SegmentSize {
		if err := w.roll(); err != nil {
			return err
		}
	}
	if err := w.write(walBegin, []byte(name)); err != nil {
		return err
	}
	w.cnt.begin()
	w.inInput, w.name = true, name
	return nil
}

// data logs a chunk of the current input.
func (w *WAL) data(p []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.dataLocked(p)
}

func (w *WAL) dataLocked(p []byte) error {
	if err := w.usable(); err != nil {
		return err
	}
	if !w.cfg.Whole && w.size >= w.cfg.SegmentSize {
		if err := w.roll(); err != nil {
			return err
		}
	}
	if err := w.write(walData, p); err != nil {
		return err
	}
	w.cnt.add(p)
	return nil
}

// end logs the end of the current input.
func (w *WAL) end() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.endLocked()
}

func (w *WAL) endLocked() error {
	if err := w.usable(); err != nil {
		return err
	}
	if err := w.write(walEnd, nil); err != nil {
		return err
	}
	w.cnt.end()
	w.inInput, w.name = false, ""
	return nil
}

// logWhole logs a whole input (a watched file), in chunk-sized records.
func (w *WAL) logWhole(name string, data []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.beginLocked(name); err != nil {
		return err
	}
	for len(data) > 0 {
		n := min(len(data), chunkSize)
		if err := w.dataLocked(data[:n]); err != nil {
			return err
		}
		data = data[n:]
	}
	return w.endLocked()
}

// sync makes what was logged durable: before a barrier's record.
func (w *WAL) sync() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.usable(); err != nil {
		return err
	}
	if err := w.f.Sync(); err != nil {
		return w.fail(err)
	}
	if w.dirty {
		if err := syncDir(w.dir); err != nil {
			return fmt.Errorf("--wal: %w", err)
		}
		w.dirty = false
	}
	return nil
}

// collect removes the segments a restart from a checkpoint covering count
// records does not read: those before the last one starting at or before
// count. Not while the replay may still read them.
func (w *WAL) collect(count int64) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.replayed {
		return nil
	}
	k := 0
	for i, s := range w.segs {
		if s.start <= count {
			k = i
		}
	}
	return w.remove(k)
}

// close closes the segment; later writes fail.
func (w *WAL) close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return nil
	}
	err := w.f.Close()
	w.f = nil
	return err
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Inputs returns what a line source reads: the logged inputs again, then
// the live ones, each chunk of which is logged before it is handed on.
// Call it after Open.
func (w *WAL) Inputs(live []Input) []Input {
	ins := make([]Input, 0, len(w.replay)+len(live))
	for i := range w.replay {
		in := &w.replay[i]
		ins = append(ins, Input{Name: in.name, Open: func() (io.ReadCloser, error) {
			return &walReader{w: w, in: in}, nil
		}})
	}
	for _, in := range live {
		ins = append(ins, Input{Name: in.Name, Open: func() (io.ReadCloser, error) {
			r, err := in.Open()
			if err != nil {
				return nil, err
			}
			if err := w.begin(in.Name); err != nil {
				r.Close()
				return nil, err
			}
			return &walTee{w: w, r: r}, nil
		}})
	}
	return ins
}

// walTee logs what it reads before returning it.
type walTee struct {
	w *WAL
	r io.ReadCloser
}

func (t *walTee) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if n > 0 {
		if werr := t.w.data(p[:n]); werr != nil {
			return 0, werr
		}
	}
	if err == io.EOF {
		if werr := t.w.end(); werr != nil {
			return 0, werr
		}
	}
	return n, err
}

func (t *walTee) Close() error { return t.r.Close() }

// walReader reads a logged input again: its prefix, then its D payloads,
// up to its limit.
type walReader struct {
	w    *WAL
	in   *walInput
	pos  int64 // bytes read
	part int
	poff int64 // bytes read of in.parts[part]
	f    *os.File
	fseq uint64
}

func (r *walReader) Read(p []byte) (int, error) {
	left := r.in.limit - r.pos
	if left <= 0 {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), left)]
	if r.pos < int64(len(r.in.prefix)) {
		n := copy(p, r.in.prefix[r.pos:])
		r.pos += int64(n)
		return n, nil
	}
	for r.poff == r.in.parts[r.part].n {
		r.part, r.poff = r.part+1, 0
	}
	pt := r.in.parts[r.part]
	if r.f == nil || r.fseq != pt.seq {
		if r.f != nil {
			r.f.Close()
		}
		f, err := os.Open(r.w.segPath(pt.seq))
		if err != nil {
			r.f = nil
			return 0, fmt.Errorf("--wal: %w", err)
		}
		r.f, r.fseq = f, pt.seq
	}
	p = p[:min(int64(len(p)), pt.n-r.poff)]
	n, err := r.f.ReadAt(p, pt.off+r.poff)
	if n == len(p) {
		err = nil
	} else if err == io.EOF {
		err = fmt.Errorf("--wal: %s: shorter than when it was checked", r.w.segPath(pt.seq))
	}
	r.poff += int64(n)
	r.pos += int64(n)
	return n, err
}

func (r *walReader) Close() error {
	if r.f == nil {
		return nil
	}
	err := r.f.Close()
	r.f = nil
	return err
}

// lineCount follows the splitter and the parser over the bytes of inputs,
// so the log knows how many records come before any point of it: a line
// ends at "\n", or at the end of its input if it is not empty; with
// --header the first line of every input is not a record.
type lineCount struct {
	header  bool
	keep    bool  // keep the unfinished line and the header line (the writer's, for start records)
	records int64 // records ended, in all inputs
	lines   int64 // lines ended in the current input
	tail    int64 // bytes of the unfinished line
	partial []byte
	head    []byte
}

func (c *lineCount) begin() {
	c.lines, c.tail, c.partial, c.head = 0, 0, c.partial[:0], nil
}

func (c *lineCount) add(p []byte) {
	n := int64(bytes.Count(p, []byte{'\n'}))
	if n == 0 {
		c.tail += int64(len(p))
		if c.keep {
			c.partial = append(c.partial, p...)
		}
		return
	}
	if c.header && c.lines == 0 {
		c.records-- // the header line
		if c.keep {
			c.head = append(append([]byte(nil), c.partial...), p[:bytes.IndexByte(p, '\n')]...)
		}
	}
	c.records += n
	c.lines += n
	j := bytes.LastIndexByte(p, '\n')
	c.tail = int64(len(p) - j - 1)
	if c.keep {
		c.partial = append(c.partial[:0], p[j+1:]...)
	}
}

func (c *lineCount) end() {
	if c.tail > 0 {
		c.lines++
		if !c.header || c.lines > 1 {
			c.records++
		}
	}
	c.begin()
}

// walStartRec is the payload of an S record.
type walStartRec struct {
	count   int64 // records before the segment
	inInput bool  // the segment starts inside an input:
	name    string
	lines   int64  // lines of it before the segment
	head    []byte // its header line, with --header once read
	partial []byte // its unfinished line
}

func appendStart(b []byte, s walStartRec) []byte {
	b = binary.AppendUvarint(b, uint64(s.count))
	if !s.inInput {
		return append(b, 0)
	}
	b = append(b, 1)
	b = binary.AppendUvarint(b, uint64(len(s.name)))
	b = append(b, s.name...)
	b = binary.AppendUvarint(b, uint64(s.lines))
	b = binary.AppendUvarint(b, uint64(len(s.head)))
	b = append(b, s.head...)
	b = binary.AppendUvarint(b, uint64(len(s.partial)))
	return append(b, s.partial...)
}

func decodeStart(p []byte) (walStartRec, error) {
	var s walStartRec
	bad := errors.New("a start record that does not parse")
	num := func() uint64 {
		v, n := binary.Uvarint(p)
		if n <= 0 {
			p = nil
			return 0
		}
		p = p[n:]
		return v
	}
	str := func() []byte {
		n := num()
		if n > uint64(len(p)) {
			p = nil
			return nil
		}
		b := p[:n:n]
		p = p[n:]
		return b
	}
	s.count = int64(num())
	if len(p) == 0 {
		return s, bad
	}
	s.inInput, p = p[0] == 1, p[1:]
	if !s.inInput {
		return s, nil
	}
	s.name = string(str())
	s.lines = int64(num())
	s.head = slices.Clone(str())
	if p == nil {
		return s, bad
	}
	s.partial = slices.Clone(str())
	if p == nil || len(p) != 0 || s.count < 0 || s.lines < 0 {
		return s, bad
	}
	return s, nil
}

// prefix is what a replay starting at this segment reads before its data:
// the header line (so the parser has the column names) and the unfinished
// line. skipped is the number to add to the resumed input's line numbers.
func (s walStartRec) prefix(header bool) (prefix []byte, skipped int64) {
	skipped = s.lines
	if header && s.lines > 0 {
		prefix = append(append(prefix, s.head...), '\n')
		skipped--
	}
	return append(prefix, s.partial...), skipped
}

// segReader reads a segment's records, telling a torn tail from
// corruption.
type segReader struct {
	path string
	f    *os.File
	r    *bufio.Reader
	size int64
	off  int64 // of the next record
	buf  []byte
}

// tornError is a record that a crash cut short: it runs past the end of
// the file, or fails its check and is the last one or only zeros follow.
type tornError struct{ off int64 }

func (e *tornError) Error() string { return fmt.Sprintf("torn record at byte %d", e.off) }

func openSegment(path string) (*segReader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--wal: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("--wal: %w", err)
	}
	sr := &segReader{path: path, f: f, r: bufio.NewReaderSize(f, 1<<16), size: fi.Size()}
	magic := make([]byte, len(walMagic))
	if n, _ := io.ReadFull(sr.r, magic); n < len(magic) {
		if string(magic[:n]) == walMagic[:n] {
			sr.off = int64(n)
			return sr, nil // torn: next says so
		}
	}
	if string(magic) != walMagic {
		f.Close()
		return nil, fmt.Errorf("--wal: %s: not a write-ahead log segment (want %q first)", path, walMagic)
	}
	sr.off = int64(len(walMagic))
	return sr, nil
}

func (s *segReader) magicLen() int64 { return int64(len(walMagic)) }

func (s *segReader) close() { s.f.Close() }

func (s *segReader) corrupt(off int64, what string) error {
	return fmt.Errorf("--wal: %s: corrupt record at byte %d: %s", s.path, off, what)
}

// next returns the next record, valid until the next call; io.EOF at the
// end of the segment.
func (s *segReader) next() (byte, []byte, error) {
	if s.off == s.size {
		return 0, nil, io.EOF
	}
	if s.off < s.magicLen() || s.size-s.off < walRecHeader {
		return 0, nil, &tornError{s.off}
	}
	var h [walRecHeader]byte
	if _, err := io.ReadFull(s.r, h[:]); err != nil {
		return 0, nil, fmt.Errorf("--wal: %w", err)
	}
	n := int64(binary.LittleEndian.Uint32(h[1:5]))
	if n > s.size-s.off-walRecHeader {
		return 0, nil, &tornError{s.off}
	}
	if int64(cap(s.buf)) < n {
		s.buf = make([]byte, n)
	}
	p := s.buf[:n]
	if _, err := io.ReadFull(s.r, p); err != nil {
		return 0, nil, fmt.Errorf("--wal: %w", err)
	}
	off := s.off
	s.off += walRecHeader + n
	if crc32.Update(crc32.Update(0, crc32c, h[:5]), crc32c, p) != binary.LittleEndian.Uint32(h[5:9]) {
		if s.off == s.size || s.zerosFrom(s.off) {
			return 0, nil, &tornError{off}
		}
		return 0, nil, s.corrupt(off, "its checksum does not match, and records follow it, so it is not a torn write")
	}
	switch h[0] {
	case walStart, walBegin, walData, walEnd:
	default:
		return 0, nil, s.corrupt(off, fmt.Sprintf("unknown type %q", h[0]))
	}
	return h[0], p, nil
}

// zerosFrom tells whether the file holds only zeros from off: blocks a
// crash of the machine left unwritten.
func (s *segReader) zerosFrom(off int64) bool {
	buf := make([]byte, 1<<16)
	for off < s.size {
		n, err := s.f.ReadAt(buf[:min(int64(len(buf)), s.size-off)], off)
		for _, b := range buf[:n] {
			if b != 0 {
				return false
			}
		}
		if err != nil && n == 0 {
			return false
		}
		off += int64(n)
	}
	return true
}

// NewWALLines returns the line source of cfg whose inputs go through w:
// the logged inputs again, then cfg.Inputs, logged.
func NewWALLines(cfg LinesConfig, w *WAL) stage.Source { return &walLines{cfg: cfg, wal: w} }

type walLines struct {
	cfg LinesConfig
	wal *WAL
}

func (l *walLines) Run(ctx context.Context, out stage.Emitter) error {
	cfg := l.cfg
	cfg.Inputs = l.wal.Inputs(cfg.Inputs)
	return NewLines(cfg).Run(ctx, out)
}

// NewWALSocket returns Socket with its connection logged in w: the logged
// inputs are read again first. cfg.Inputs is ignored.
func NewWALSocket(addr string, cfg LinesConfig, w *WAL) stage.Source {
	s := NewSocket(addr, cfg)
	s.inputs = w.Inputs
	return s
}

// NewWALWatch returns Watch with each new file logged whole in w before it
// is read: the logged files are read again first. cfg.Inputs is ignored.
func NewWALWatch(dir string, cfg LinesConfig, w *WAL) stage.Source {
	ww := &walWatch{Watch: NewWatch(dir, cfg), wal: w}
	ww.resume, ww.logFile = ww.resumeLogged, w.logWhole
	return ww.Watch
}

type walWatch struct {
	*Watch
	wal *WAL
}

// resumeLogged reads the logged files again; a file the log holds only in
// part was never batched, and is read again from the directory.
func (w *walWatch) resumeLogged(ctx context.Context, seen map[string]bool, pt *procTime, f *lineFeeder, add func(*record) error) error {
	if name := w.wal.unended; name != "" && filepath.Dir(name) == filepath.Clean(w.dir) {
		delete(seen, filepath.Base(name))
	}
	return w.replay(ctx, pt, f, add)
}

// replay reads the logged files again, cut into batches where batches.log
// says.
func (w *walWatch) replay(ctx context.Context, pt *procTime, f *lineFeeder, add func(*record) error) error {
	if err := pt.cut(); err != nil {
		return err
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	err := readLines(rctx, startReader(rctx, w.wal.Inputs(nil)), f, add, nil)
	if err != nil && ctx.Err() != nil && pt.replaying() {
		return fmt.Errorf("stopped while emitting again the batches read before the restart; nothing is lost, restart to go on")
	}
	if err != nil {
		return err
	}
	w.wal.mu.Lock()
	w.wal.replayed = true
	w.wal.mu.Unlock()
	if err := pt.cut(); err != nil {
		return err
	}
	if pt.replaying() {
		return fmt.Errorf("internal error: the write-ahead log ended before batch %d of batches.log", pt.replay[0].time)
	}
	return nil
}
