package frame

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"runtime"
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
	buf     []byte
	sizes   []int    // per-partition record data sizes
	raw     [][]byte // per-partition record data, for compressed codecs
	enc     [][]byte // per-partition compressed data
	err     error
}

// NewWriter returns a Writer that compresses partitions with codec and
// refuses frames whose payload or decoded batch exceeds maxSize bytes
// (<= 0: DefaultMaxSize), since no reader with the same limit could read them.
func NewWriter(w io.Writer, codec Codec, maxSize int) *Writer {
	if maxSize <= 0 {
		maxSize = DefaultMaxSize
	}
	return &Writer{w: w, codec: codec, maxSize: maxSize}
}

// WriteBatch writes a BATCH frame. A batch over the size limit is refused
// with an error that does not stick: nothing was written.
func (w *Writer) WriteBatch(b *Batch) error {
	if w.err != nil {
		return w.err
	}
	sizes := w.sizes[:0]
	decoded := 0
	for i := range b.Partitions {
		n := recordsSize(b.Partitions[i].Records)
		sizes = append(sizes, n)
		decoded += n
	}
	w.sizes = sizes
	if decoded > w.maxSize {
		return fmt.Errorf("BATCH frame of %d bytes of records exceeds the %d-byte frame size limit (raise it with --max-frame-size)", decoded, w.maxSize)
	}
	buf := w.begin()
	buf = binary.LittleEndian.AppendUint64(buf, uint64(b.Time))
	buf = binary.LittleEndian.AppendUint64(buf, uint64(b.Interval))
	var flags byte
	if b.More {
		flags |= FlagMore
	}
	buf = append(buf, flags)
	buf = binary.AppendUvarint(buf, uint64(len(b.Partitions)))
	if w.codec == CodecNone {
		buf = grow(buf, decoded+len(b.Partitions)*(1+2*binary.MaxVarintLen64))
		for i := range b.Partitions {
			recs := b.Partitions[i].Records
			buf = append(buf, byte(CodecNone))
			buf = binary.AppendUvarint(buf, uint64(len(recs)))
			buf = binary.AppendUvarint(buf, uint64(sizes[i]))
			buf = appendRecords(buf, recs)
		}
	} else {
		buf = w.appendCompressed(buf, b.Partitions, decoded)
	}
	return w.finish(TypeBatch, buf)
}

// appendCompressed encodes and compresses each partition, in parallel when
// there is enough data for it to pay, and appends them in order.
func (w *Writer) appendCompressed(buf []byte, parts []Partition, decoded int) []byte {
	for len(w.raw) < len(parts) {
		w.raw = append(w.raw, nil)
		w.enc = append(w.enc, nil)
	}
	encode := func(i int) {
		raw := appendRecords(grow(w.raw[i][:0], w.sizes[i]), parts[i].Records)
		w.raw[i] = raw
		w.enc[i] = compress(w.enc[i][:0], w.codec, raw)
	}
	if workers := min(runtime.GOMAXPROCS(0), len(parts)); workers > 1 && decoded >= parallelMin {
		parallel(workers, len(parts), encode)
	} else {
		for i := range parts {
			encode(i)
		}
	}
	for i := range parts {
		buf = append(buf, byte(w.codec))
		buf = binary.AppendUvarint(buf, uint64(len(parts[i].Records)))
		buf = binary.AppendUvarint(buf, uint64(w.sizes[i]))
		buf = binary.AppendUvarint(buf, uint64(len(w.enc[i])))
		buf = append(buf, w.enc[i]...)
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
	if n > w.maxSize || uint64(n) > math.MaxUint32 {
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
