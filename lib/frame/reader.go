package frame

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
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
	raw     [][]byte // decoded partition data, for compressed partitions
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

func (r *Reader) decodeBatch(p []byte) error {
	if len(p) < 17 {
		return fmt.Errorf("BATCH payload of %d bytes is shorter than its 17-byte minimum", len(p))
	}
	b := &r.batch
	b.Time = int64(binary.LittleEndian.Uint64(p))
	b.Interval = int64(binary.LittleEndian.Uint64(p[8:]))
	d := payloadReader{p: p[16:]}
	nparts := d.uvarint("partition count")
	// Every partition takes at least 3 bytes, which bounds the count.
	if d.err == nil && nparts > uint64(len(d.p))/3 {
		return fmt.Errorf("%d partitions cannot fit in %d bytes", nparts, len(d.p))
	}
	if d.err != nil {
		return d.err
	}
	if cap(b.Partitions) < int(nparts) {
		b.Partitions = make([]Partition, nparts)
	}
	b.Partitions = b.Partitions[:nparts]
	for len(r.raw) < int(nparts) {
		r.raw = append(r.raw, nil)
	}
	decoded := 0
	for i := range b.Partitions {
		var codec Codec
		if c := d.bytes(1, "codec"); c != nil {
			codec = Codec(c[0])
		}
		nrecs := d.uvarint("record count")
		size := d.uvarint("partition size")
		if d.err != nil {
			return d.err
		}
		decoded += int(min(size, uint64(r.maxSize)+1))
		if decoded > r.maxSize {
			return fmt.Errorf("partition %d: decoded batch exceeds the %d-byte limit (raise it with --max-frame-size)", i, r.maxSize)
		}
		// Every record takes at least 2 bytes, which bounds the count.
		if nrecs > size/2 {
			return fmt.Errorf("partition %d: %d records cannot fit in %d bytes", i, nrecs, size)
		}
		var data []byte
		switch codec {
		case CodecNone:
			data = d.bytes(size, "partition data")
		case CodecS2, CodecZstd:
			enc := d.bytes(d.uvarint("encoded size"), "compressed partition")
			if d.err != nil {
				return d.err
			}
			out, err := decompress(r.raw[i], codec, enc, int(size))
			if err != nil {
				return fmt.Errorf("partition %d: %s: %v", i, codec, err)
			}
			r.raw[i] = out
			data = out
		default:
			return fmt.Errorf("partition %d: unknown codec %d", i, byte(codec))
		}
		if d.err != nil {
			return d.err
		}
		recs, err := decodeRecords(b.Partitions[i].Records[:0], data, int(nrecs))
		if err != nil {
			return fmt.Errorf("partition %d: %v", i, err)
		}
		b.Partitions[i].Records = recs
	}
	if len(d.p) != 0 {
		return fmt.Errorf("%d bytes after the last partition", len(d.p))
	}
	return nil
}

func decodeRecords(recs []Record, data []byte, n int) ([]Record, error) {
	if cap(recs) < n {
		recs = make([]Record, 0, n)
	}
	d := payloadReader{p: data}
	for i := 0; i < n; i++ {
		var rec Record
		tag := d.uvarint("key tag")
		if tag > 0 {
			rec.Keyed = true
			rec.Key = d.bytes(tag-1, "key")
		}
		rec.Value = d.bytes(d.uvarint("value length"), "value")
		if d.err != nil {
			return nil, fmt.Errorf("record %d: %v", i, d.err)
		}
		recs = append(recs, rec)
	}
	if len(d.p) != 0 {
		return nil, fmt.Errorf("%d bytes after record %d", len(d.p), n)
	}
	return recs, nil
}
