package frame

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"runtime"
)

// Reader reads frames from an io.Reader. The Batch of a returned Frame, and
// the byte slices of its records, are valid until the next call to Next
// (as bufio.Scanner's tokens are); use Batch.Clone to keep one.
type Reader struct {
	r       *bufio.Reader
	maxSize int
	offset  int64 // byte offset of the next frame
	frames  int64 // frames read
	err     error

	hdr     [HeaderSize]byte
	payload []byte
	parts   []part // the partitions of the batch being decoded
	arena   []byte // decoded data of compressed partitions
	batch   Batch
}

// NewReader returns a Reader of frames of at most maxSize bytes of payload
// and decoded batch data; maxSize <= 0 means DefaultMaxSize.
func NewReader(r io.Reader, maxSize int) *Reader {
	if maxSize <= 0 {
		maxSize = DefaultMaxSize
	}
	return &Reader{r: bufio.NewReaderSize(r, 1<<20), maxSize: maxSize}
}

// Offset returns the byte offset of the next frame.
func (r *Reader) Offset() int64 { return r.offset }

// Next reads the next frame. It returns io.EOF only when the stream ends at a
// frame boundary; every other error is an *Error or a read error, and sticks.
func (r *Reader) Next() (*Frame, error) {
	if r.err != nil {
		return nil, r.err
	}
	f, err := r.next()
	if err != nil {
		r.err = err
		return nil, err
	}
	r.frames++
	return f, nil
}

func (r *Reader) fail(err error, detail string) error {
	return &Error{Offset: r.offset, Frame: r.frames, Err: err, Detail: detail}
}

func (r *Reader) next() (*Frame, error) {
	n, err := io.ReadFull(r.r, r.hdr[:])
	if err != nil {
		if n == 0 && err == io.EOF {
			return nil, io.EOF
		}
		if err == io.ErrUnexpectedEOF {
			return nil, r.fail(ErrTruncated, fmt.Sprintf("%d of %d header bytes", n, HeaderSize))
		}
		return nil, err
	}
	h := r.hdr[:]
	if h[0] != Magic0 || h[1] != Magic1 {
		return nil, r.fail(ErrMagic, fmt.Sprintf("got %q, want %q", h[:2], "DS"))
	}
	if h[2] != Version {
		return nil, r.fail(ErrVersion, fmt.Sprintf("version %d, want %d", h[2], Version))
	}
	t := Type(h[3])
	if t < TypeBatch || t > TypeStop {
		return nil, r.fail(ErrCorrupt, fmt.Sprintf("unknown frame type %d", h[3]))
	}
	size := binary.LittleEndian.Uint32(h[4:])
	if uint64(size) > uint64(r.maxSize) {
		return nil, r.fail(ErrTooLarge, fmt.Sprintf("%s payload of %d bytes, limit %d (raise it with --max-frame-size)", t, size, r.maxSize))
	}
	if cap(r.payload) < int(size) {
		r.payload = make([]byte, size)
	}
	p := r.payload[:size]
	if n, err := io.ReadFull(r.r, p); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil, r.fail(ErrTruncated, fmt.Sprintf("%d of %d payload bytes", n, size))
		}
		return nil, err
	}
	crc := crc32.Update(0, castagnoli, h[:8])
	crc = crc32.Update(crc, castagnoli, p)
	if crc != binary.LittleEndian.Uint32(h[8:]) {
		return nil, r.fail(ErrChecksum, "")
	}
	f := &Frame{Type: t}
	switch t {
	case TypeBatch:
		if err := r.decodeBatch(p); err != nil {
			if le, ok := err.(*limitError); ok {
				return nil, r.fail(ErrTooLarge, le.msg)
			}
			return nil, r.fail(ErrCorrupt, err.Error())
		}
		f.Batch = &r.batch
	case TypeBarrier:
		if len(p) != 16 {
			return nil, r.fail(ErrCorrupt, fmt.Sprintf("BARRIER payload of %d bytes, want 16", len(p)))
		}
		f.Barrier = Barrier{ID: binary.LittleEndian.Uint64(p), Time: int64(binary.LittleEndian.Uint64(p[8:]))}
	default:
		if len(p) != 0 {
			return nil, r.fail(ErrCorrupt, fmt.Sprintf("%s payload of %d bytes, want 0", t, len(p)))
		}
	}
	r.offset += HeaderSize + int64(size)
	return f, nil
}

// payloadReader decodes a payload, remembering the first error.
type payloadReader struct {
	p   []byte
	err error
}

func (d *payloadReader) uvarint(what string) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.p)
	if n <= 0 {
		d.err = fmt.Errorf("bad %s varint", what)
		return 0
	}
	d.p = d.p[n:]
	return v
}

func (d *payloadReader) bytes(n uint64, what string) []byte {
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.p)) {
		d.err = fmt.Errorf("%s of %d bytes overruns the payload (%d bytes left)", what, n, len(d.p))
		return nil
	}
	b := d.p[:n:n]
	d.p = d.p[n:]
	return b
}

// limitError is a batch whose decoded size exceeds the limit: ErrTooLarge.
type limitError struct{ msg string }

func (e *limitError) Error() string { return e.msg }

// part is a partition's header and data as found in the payload.
type part struct {
	codec Codec
	nrecs int
	size  int    // decoded size
	data  []byte // the data as stored (encoded unless codec is none)
	out   []byte // where a compressed partition decodes to, in Reader.arena
	err   error
}

// overAlloc is room left after each compressed partition's place in the
// arena: zstd's fast paths write up to 32 bytes past the end of their output,
// and partitions are decoded in parallel.
const overAlloc = 32

// parallelMin is the decoded size of a batch above which compressed
// partitions are decoded in parallel.
const parallelMin = 256 << 10

func (r *Reader) decodeBatch(p []byte) error {
	if len(p) < 18 {
		return fmt.Errorf("BATCH payload of %d bytes is shorter than its 18-byte minimum", len(p))
	}
	b := &r.batch
	b.Time = int64(binary.LittleEndian.Uint64(p))
	b.Interval = int64(binary.LittleEndian.Uint64(p[8:]))
	if flags := p[16]; flags&^FlagMore != 0 {
		return fmt.Errorf("unknown BATCH flags %#x", flags)
	}
	b.More = p[16]&FlagMore != 0
	d := payloadReader{p: p[17:]}
	nparts := d.uvarint("partition count")
	if d.err != nil {
		return d.err
	}
	// Every partition takes at least 3 bytes, which bounds the count.
	if nparts > uint64(len(d.p))/3 {
		return fmt.Errorf("%d partitions cannot fit in %d bytes", nparts, len(d.p))
	}
	// First pass: the partition headers, checked against the limits before
	// anything is allocated for their contents.
	parts := r.parts[:0]
	decoded, arena, compressed := 0, 0, 0
	for i := 0; i < int(nparts); i++ {
		var codec Codec
		if c := d.bytes(1, "codec"); c != nil {
			codec = Codec(c[0])
		}
		nrecs := d.uvarint("record count")
		size := d.uvarint("partition size")
		if d.err != nil {
			return fmt.Errorf("partition %d: %v", i, d.err)
		}
		if size > uint64(r.maxSize-decoded) {
			return &limitError{fmt.Sprintf("partition %d: decoded batch of at least %d bytes exceeds the %d-byte limit (raise it with --max-frame-size)", i, uint64(decoded)+size, r.maxSize)}
		}
		decoded += int(size)
		// Every record takes at least 2 bytes, which bounds the count.
		if nrecs > size/2 {
			return fmt.Errorf("partition %d: %d records cannot fit in %d bytes", i, nrecs, size)
		}
		pt := part{codec: codec, nrecs: int(nrecs), size: int(size)}
		switch codec {
		case CodecNone:
			pt.data = d.bytes(size, "partition data")
		case CodecS2, CodecZstd:
			pt.data = d.bytes(d.uvarint("encoded size"), "compressed partition")
			arena += int(size) + overAlloc
			compressed++
		default:
			return fmt.Errorf("partition %d: unknown codec %d", i, byte(codec))
		}
		if d.err != nil {
			return fmt.Errorf("partition %d: %v", i, d.err)
		}
		parts = append(parts, pt)
	}
	r.parts = parts
	if len(d.p) != 0 {
		return fmt.Errorf("%d bytes after the last partition", len(d.p))
	}
	if cap(r.arena) < arena {
		r.arena = nil // let the old one go before the new one is made
		r.arena = make([]byte, arena)
	}
	off := 0
	for i := range parts {
		if parts[i].codec != CodecNone {
			end := off + parts[i].size
			parts[i].out = r.arena[off:end:min(end+overAlloc, len(r.arena))]
			off = end + overAlloc
		}
	}
	if cap(b.Partitions) < len(parts) {
		b.Partitions = make([]Partition, len(parts))
	}
	b.Partitions = b.Partitions[:len(parts)]

	// Second pass: decompress and split into records, in parallel when
	// there is enough compressed data for it to pay.
	if workers := min(runtime.GOMAXPROCS(0), compressed); workers > 1 && decoded >= parallelMin {
		parallel(workers, len(parts), r.decodePart)
	} else {
		for i := range parts {
			r.decodePart(i)
			if parts[i].err != nil {
				break
			}
		}
	}
	for i := range parts {
		if err := parts[i].err; err != nil {
			return fmt.Errorf("partition %d: %v", i, err)
		}
	}
	return nil
}

// decodePart decodes partition i of the batch, setting parts[i].err.
func (r *Reader) decodePart(i int) {
	pt := &r.parts[i]
	data := pt.data
	if pt.codec != CodecNone {
		out, err := decompress(pt.out, pt.codec, pt.data, pt.size)
		if err != nil {
			pt.err = fmt.Errorf("%s: %v", pt.codec, err)
			return
		}
		data = out
	}
	p := &r.batch.Partitions[i]
	p.Records, pt.err = decodeRecords(p.Records[:0], data, pt.nrecs)
}

func decodeRecords(recs []Record, data []byte, n int) ([]Record, error) {
	if cap(recs) < n {
		recs = make([]Record, 0, n)
	}
	recs = recs[:n]
	p := data
	for i := range recs {
		rec := &recs[i]
		// Fast path: one-byte varints, the common case of short keys and
		// values below 128 bytes, else binary.Uvarint.
		var tag uint64
		if len(p) > 0 && p[0] < 0x80 {
			tag, p = uint64(p[0]), p[1:]
		} else {
			v, k := binary.Uvarint(p)
			if k <= 0 {
				return recs[:0], fmt.Errorf("record %d: bad key tag varint", i)
			}
			tag, p = v, p[k:]
		}
		if tag > 0 {
			if tag-1 > uint64(len(p)) {
				return recs[:0], fmt.Errorf("record %d: key of %d bytes overruns the partition (%d bytes left)", i, tag-1, len(p))
			}
			rec.Keyed, rec.Key, p = true, p[:tag-1:tag-1], p[tag-1:]
		} else {
			rec.Keyed, rec.Key = false, nil
		}
		var vlen uint64
		if len(p) > 0 && p[0] < 0x80 {
			vlen, p = uint64(p[0]), p[1:]
		} else {
			v, k := binary.Uvarint(p)
			if k <= 0 {
				return recs[:0], fmt.Errorf("record %d: bad value length varint", i)
			}
			vlen, p = v, p[k:]
		}
		if vlen > uint64(len(p)) {
			return recs[:0], fmt.Errorf("record %d: value of %d bytes overruns the partition (%d bytes left)", i, vlen, len(p))
		}
		rec.Value, p = p[:vlen:vlen], p[vlen:]
	}
	if len(p) != 0 {
		return recs[:0], fmt.Errorf("%d bytes after record %d", len(p), n)
	}
	return recs, nil
}
