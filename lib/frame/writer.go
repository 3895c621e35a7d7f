package frame

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"sync"
)

var (
	castagnoli      = crc32.MakeTable(crc32.Castagnoli)
	errSizeMismatch = errors.New("decoded size differs from the declared size")
	errUnknownCodec = errors.New("unknown codec")
)

// Writer writes frames to an io.Writer, one Write call per frame, so a frame
// reaches a pipe as soon as it is written. Its error sticks.
type Writer struct {
	w       io.Writer
	codec   Codec
	maxSize int
	buf   []byte
	parts [][]byte // per-partition encode buffers, for compressed codecs
	err   error
}

// NewWriter returns a Writer that compresses partitions with codec and
// refuses frames whose payload exceeds maxSize bytes (<= 0: DefaultMaxSize),
// since no reader with the same limit could read them.
func NewWriter(w io.Writer, codec Codec, maxSize int) *Writer {
	if maxSize <= 0 {
		maxSize = DefaultMaxSize
	}
	return &Writer{w: w, codec: codec, maxSize: maxSize}
}

// WriteBatch writes a BATCH frame.
func (w *Writer) WriteBatch(b *Batch) error {
	buf := w.begin()
	buf = binary.LittleEndian.AppendUint64(buf, uint64(b.Time))
	buf = binary.LittleEndian.AppendUint64(buf, uint64(b.Interval))
	buf = binary.AppendUvarint(buf, uint64(len(b.Partitions)))
	if w.codec == CodecNone {
		for i := range b.Partitions {
			recs := b.Partitions[i].Records
			buf = append(buf, byte(CodecNone))
			buf = binary.AppendUvarint(buf, uint64(len(recs)))
			size := recordsSize(recs)
			buf = binary.AppendUvarint(buf, uint64(size))
			buf = appendRecords(grow(buf, size), recs)
		}
	} else {
		buf = w.appendCompressed(buf, b.Partitions)
	}
	return w.finish(TypeBatch, buf)
}

// appendCompressed encodes and compresses each partition, in parallel when
// there are several, and appends them in order.
func (w *Writer) appendCompressed(buf []byte, parts []Partition) []byte {
	for len(w.parts) < len(parts) {
		w.parts = append(w.parts, nil)
	}
	encode := func(i int) {
		recs := parts[i].Records
		raw := appendRecords(make([]byte, 0, recordsSize(recs)), recs)
		out := w.parts[i][:0]
		out = append(out, byte(w.codec))
		out = binary.AppendUvarint(out, uint64(len(recs)))
		out = binary.AppendUvarint(out, uint64(len(raw)))
		body := compress(nil, w.codec, raw)
		out = binary.AppendUvarint(out, uint64(len(body)))
		w.parts[i] = append(out, body...)
	}
	if len(parts) == 1 {
		encode(0)
	} else {
		var wg sync.WaitGroup
		for i := range parts {
			wg.Add(1)
			go func() { defer wg.Done(); encode(i) }()
		}
		wg.Wait()
	}
	for i := range parts {
		buf = append(buf, w.parts[i]...)
	}
	return buf
}

// WriteBarrier writes a BARRIER frame.
func (w *Writer) WriteBarrier(b Barrier) error {
	buf := w.begin()
	buf = binary.LittleEndian.AppendUint64(buf, b.ID)
	buf = binary.LittleEndian.AppendUint64(buf, uint64(b.Time))
	return w.finish(TypeBarrier, buf)
}

// WriteEOS writes an EOS frame.
func (w *Writer) WriteEOS() error { return w.finish(TypeEOS, w.begin()) }

// WriteStop writes a STOP frame.
func (w *Writer) WriteStop() error { return w.finish(TypeStop, w.begin()) }

// WriteFrame writes f, whatever its type.
func (w *Writer) WriteFrame(f *Frame) error {
	switch f.Type {
	case TypeBatch:
		return w.WriteBatch(f.Batch)
	case TypeBarrier:
		return w.WriteBarrier(f.Barrier)
	case TypeEOS:
		return w.WriteEOS()
	case TypeStop:
		return w.WriteStop()
	}
	return errors.New("frame: cannot write " + f.Type.String())
}

func (w *Writer) begin() []byte {
	return append(w.buf[:0], make([]byte, HeaderSize)...)
}

func (w *Writer) finish(t Type, buf []byte) error {
	w.buf = buf
	if w.err != nil {
		return w.err
	}
	n := len(buf) - HeaderSize
	if n > w.maxSize {
		// Not sticky: the stream is still whole, the caller decides.
		return fmt.Errorf("%s frame of %d bytes exceeds the %d-byte frame size limit (raise it with --max-frame-size)", t, n, w.maxSize)
	}
	buf[0], buf[1], buf[2], buf[3] = Magic0, Magic1, Version, byte(t)
	binary.LittleEndian.PutUint32(buf[4:], uint32(n))
	crc := crc32.Update(0, castagnoli, buf[:8])
	crc = crc32.Update(crc, castagnoli, buf[HeaderSize:])
	binary.LittleEndian.PutUint32(buf[8:], crc)
	_, w.err = w.w.Write(buf)
	return w.err
}

func recordsSize(recs []Record) int {
	n := 0
	for i := range recs {
		r := &recs[i]
		if r.Keyed {
			n += uvarintLen(uint64(len(r.Key))+1) + len(r.Key)
		} else {
			n++
		}
		n += uvarintLen(uint64(len(r.Value))) + len(r.Value)
	}
	return n
}

func appendRecords(buf []byte, recs []Record) []byte {
	for i := range recs {
		r := &recs[i]
		if r.Keyed {
			buf = binary.AppendUvarint(buf, uint64(len(r.Key))+1)
			buf = append(buf, r.Key...)
		} else {
			buf = append(buf, 0)
		}
		buf = binary.AppendUvarint(buf, uint64(len(r.Value)))
		buf = append(buf, r.Value...)
	}
	return buf
}

func uvarintLen(x uint64) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}
