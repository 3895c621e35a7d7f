package frame

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
)

var codecs = []Codec{CodecNone, CodecS2, CodecZstd}

// rec makes an unkeyed record; krec a keyed one.
func rec(v string) Record     { return Record{Value: []byte(v)} }
func krec(k, v string) Record { return Record{Key: []byte(k), Value: []byte(v), Keyed: true} }

func batchOf(t, interval int64, parts ...[]Record) *Batch {
	b := &Batch{Time: t, Interval: interval}
	for _, p := range parts {
		b.Partitions = append(b.Partitions, Partition{Records: p})
	}
	return b
}

// equalBatch compares batches as the format sees them: an unkeyed record's
// Key is ignored, and nil and empty slices are equal.
func equalBatch(a, b *Batch) error {
	if a.Time != b.Time || a.Interval != b.Interval || a.More != b.More {
		return fmt.Errorf("time/interval %d/%d, want %d/%d", a.Time, a.Interval, b.Time, b.Interval)
	}
	if len(a.Partitions) != len(b.Partitions) {
		return fmt.Errorf("%d partitions, want %d", len(a.Partitions), len(b.Partitions))
	}
	for i := range a.Partitions {
		ra, rb := a.Partitions[i].Records, b.Partitions[i].Records
		if len(ra) != len(rb) {
			return fmt.Errorf("partition %d: %d records, want %d", i, len(ra), len(rb))
		}
		for j := range ra {
			x, y := ra[j], rb[j]
			if x.Keyed != y.Keyed || (x.Keyed && !bytes.Equal(x.Key, y.Key)) || !bytes.Equal(x.Value, y.Value) {
				return fmt.Errorf("partition %d record %d: %+v, want %+v", i, j, x, y)
			}
		}
	}
	return nil
}

func equalFrame(a, b *Frame) error {
	if a.Type != b.Type {
		return fmt.Errorf("type %s, want %s", a.Type, b.Type)
	}
	switch a.Type {
	case TypeBatch:
		return equalBatch(a.Batch, b.Batch)
	case TypeBarrier:
		if a.Barrier != b.Barrier {
			return fmt.Errorf("barrier %+v, want %+v", a.Barrier, b.Barrier)
		}
	}
	return nil
}

func encode(t testing.TB, codec Codec, frames ...*Frame) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := NewWriter(&buf, codec, 0)
	for _, f := range frames {
		if err := w.WriteFrame(f); err != nil {
			t.Fatalf("WriteFrame(%s): %v", f.Type, err)
		}
	}
	return buf.Bytes()
}

// readAll reads frames until an error, cloning batches.
func readAll(data []byte, limit int) ([]*Frame, error) {
	r := NewReader(bytes.NewReader(data), limit)
	var out []*Frame
	for {
		f, err := r.Next()
		if err != nil {
			return out, err
		}
		c := *f
		if f.Batch != nil {
			c.Batch = f.Batch.Clone()
		}
		out = append(out, &c)
	}
}

// rawFrame builds a frame by hand, with a correct checksum.
func rawFrame(typ Type, payload []byte) []byte {
	b := []byte{Magic0, Magic1, Version, byte(typ)}
	b = binary.LittleEndian.AppendUint32(b, uint32(len(payload)))
	crc := crc32.Update(0, castagnoli, b)
	crc = crc32.Update(crc, castagnoli, payload)
	b = binary.LittleEndian.AppendUint32(b, crc)
	return append(b, payload...)
}

// batchHead is a BATCH payload's time, interval, flags and partition count.
func batchHead(nparts uint64) []byte {
	p := binary.LittleEndian.AppendUint64(nil, 2000)
	p = binary.LittleEndian.AppendUint64(p, 1000)
	p = append(p, 0)
	return binary.AppendUvarint(p, nparts)
}

// rawPart is a partition as stored: codec, record count, decoded size, the
// encoded size when compressed, and data.
func rawPart(codec Codec, nrecs, size uint64, data []byte) []byte {
	p := []byte{byte(codec)}
	p = binary.AppendUvarint(p, nrecs)
	p = binary.AppendUvarint(p, size)
	if codec != CodecNone {
		p = binary.AppendUvarint(p, uint64(len(data)))
	}
	return append(p, data...)
}

func cat(bs ...[]byte) []byte { return bytes.Join(bs, nil) }

func roundTripCases() []struct {
	name  string
	frame *Frame
} {
	big := bytes.Repeat([]byte("0123456789"), 1<<14) // 160 KiB value: multi-byte varints
	var many []Partition
	for i := range 1000 {
		var recs []Record
		for j := range i % 4 {
			recs = append(recs, krec(fmt.Sprint(i), fmt.Sprint(j)))
		}
		many = append(many, Partition{Records: recs})
	}
	var parallel []Partition // above parallelMin: decoded and encoded in parallel
	for i := range 8 {
		var recs []Record
		for j := range 1000 {
			recs = append(recs, rec(fmt.Sprintf("%d,11/25/2026,%03d-DEF-456,%d.65,Grocery Store", j, i, j%100)))
		}
		parallel = append(parallel, Partition{Records: recs})
	}
	return []struct {
		name  string
		frame *Frame
	}{
		{"eos", &Frame{Type: TypeEOS}},
		{"stop", &Frame{Type: TypeStop}},
		{"barrier", &Frame{Type: TypeBarrier, Barrier: Barrier{ID: 7, Time: 1764000000000}}},
		{"barrier extremes", &Frame{Type: TypeBarrier, Barrier: Barrier{ID: ^uint64(0), Time: -1 << 63}}},
		{"zero partitions", &Frame{Type: TypeBatch, Batch: batchOf(1000, 1000)}},
		{"empty partition", &Frame{Type: TypeBatch, Batch: batchOf(2000, 1000, nil)}},
		{"empty partitions", &Frame{Type: TypeBatch, Batch: batchOf(2000, 1000, nil, nil, nil)}},
		{"unkeyed", &Frame{Type: TypeBatch, Batch: batchOf(3000, 1000, []Record{rec("a"), rec(""), rec("hello world")})}},
		{"keyed", &Frame{Type: TypeBatch, Batch: batchOf(4000, 1000, []Record{krec("k", "v"), krec("key", "")})}},
		{"empty key", &Frame{Type: TypeBatch, Batch: batchOf(5000, 1000, []Record{krec("", "v"), rec("v"), krec("", "")})}},
		{"mixed partitions", &Frame{Type: TypeBatch, Batch: batchOf(6000, 500, []Record{rec("a")}, nil, []Record{krec("b", "c"), rec("d")})}},
		{"negative time", &Frame{Type: TypeBatch, Batch: batchOf(-5, 0, []Record{rec("x")})}},
		{"big value", &Frame{Type: TypeBatch, Batch: batchOf(7000, 1000, []Record{krec(string(big[:200]), string(big)), rec(string(big[:128]))})}},
		{"many partitions", &Frame{Type: TypeBatch, Batch: &Batch{Time: 8000, Interval: 1000, Partitions: many}}},
		{"parallel", &Frame{Type: TypeBatch, Batch: &Batch{Time: 9000, Interval: 1000, Partitions: parallel}}},
		{"chunk with more", &Frame{Type: TypeBatch, Batch: &Batch{Time: 9000, Interval: 1000, More: true, Partitions: []Partition{{Records: []Record{rec("first half")}}}}}},
	}
}

func TestRoundTrip(t *testing.T) {
	for _, codec := range codecs {
		for _, tc := range roundTripCases() {
			t.Run(codec.String()+"/"+tc.name, func(t *testing.T) {
				data := encode(t, codec, tc.frame)
				got, err := readAll(data, 0)
				if err != io.EOF {
					t.Fatalf("read: %v, want io.EOF after the frame", err)
				}
				if len(got) != 1 {
					t.Fatalf("read %d frames, want 1", len(got))
				}
				if err := equalFrame(got[0], tc.frame); err != nil {
					t.Fatal(err)
				}
			})
		}
	}
}

// TestStream reads every case, in every codec, as one stream through one
// Reader: buffers reused between frames of different shapes must not leak
// records from one batch into the next.
func TestStream(t *testing.T) {
	var data []byte
	var want []*Frame
	for _, codec := range codecs {
		for _, tc := range roundTripCases() {
			data = append(data, encode(t, codec, tc.frame)...)
			want = append(want, tc.frame)
		}
	}
	r := NewReader(bytes.NewReader(data), 0)
	for i, w := range want {
		f, err := r.Next()
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if err := equalFrame(f, w); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
	}
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("after the last frame: %v, want io.EOF", err)
	}
	if r.Offset() != int64(len(data)) {
		t.Errorf("Offset() = %d, want %d", r.Offset(), len(data))
	}
}

func TestWireFormat(t *testing.T) {
	// The bytes doc.go describes, written out by hand.
	payload := cat(batchHead(2),
		rawPart(CodecNone, 2, 7, []byte{0, 1, 'a', 2, 'k', 1, 'v'}),
		rawPart(CodecNone, 0, 0, nil))
	want := rawFrame(TypeBatch, payload)
	got := encode(t, CodecNone, &Frame{Type: TypeBatch, Batch: batchOf(2000, 1000, []Record{rec("a"), krec("k", "v")}, nil)})
	if !bytes.Equal(got, want) {
		t.Fatalf("encoded\n%x\nwant\n%x", got, want)
	}
	barrier := cat(binary.LittleEndian.AppendUint64(nil, 3), binary.LittleEndian.AppendUint64(nil, 2000))
	if got, want := encode(t, CodecNone, &Frame{Type: TypeBarrier, Barrier: Barrier{3, 2000}}), rawFrame(TypeBarrier, barrier); !bytes.Equal(got, want) {
		t.Fatalf("barrier encoded %x, want %x", got, want)
	}
	if got, want := encode(t, CodecNone, &Frame{Type: TypeEOS}), rawFrame(TypeEOS, nil); !bytes.Equal(got, want) {
		t.Fatalf("EOS encoded %x, want %x", got, want)
	}
}

func TestClone(t *testing.T) {
	data := encode(t, CodecNone,
		&Frame{Type: TypeBatch, Batch: batchOf(1000, 1000, []Record{krec("k", "first")})},
		&Frame{Type: TypeBatch, Batch: batchOf(2000, 1000, []Record{krec("x", "other")})})
	r := NewReader(bytes.NewReader(data), 0)
	f, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	kept := f.Batch.Clone()
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	if err := equalBatch(kept, batchOf(1000, 1000, []Record{krec("k", "first")})); err != nil {
		t.Fatalf("clone changed by the next read: %v", err)
	}
}

type errorCase struct {
	name   string
	data   []byte // after a valid 28-byte BARRIER frame
	limit  int
	want   error  // sentinel
	detail string // substring of the message
}

func zstdNoSize(t testing.TB, data []byte) []byte {
	// A streaming encoder does not know the size: no frame content size.
	var buf bytes.Buffer
	enc, err := zstd.NewWriter(&buf, zstd.WithEncoderConcurrency(1))
	if err != nil {
		t.Fatal(err)
	}
	enc.Write(data)
	enc.Close()
	return buf.Bytes()
}

func errorCases(t testing.TB) []errorCase {
	good := rawFrame(TypeBatch, cat(batchHead(1), rawPart(CodecNone, 1, 2, []byte{0, 0})))
	flipped := append([]byte{}, good...)
	flipped[len(flipped)-1] ^= 1
	zeros := make([]byte, 1<<20) // 1 MiB: a zip bomb at a 64 KiB limit
	s2bomb := s2.Encode(nil, zeros)
	enc, _ := zstd.NewWriter(nil)
	zstdBomb := enc.EncodeAll(zeros, nil)
	zstdBombNoSize := zstdNoSize(t, zeros)
	hdr := func(magic0, magic1, version, typ byte, size uint32) []byte {
		b := []byte{magic0, magic1, version, typ}
		b = binary.LittleEndian.AppendUint32(b, size)
		return binary.LittleEndian.AppendUint32(b, 0)
	}
	badVarint := bytes.Repeat([]byte{0xff}, 11)
	return []errorCase{
		{"truncated header", good[:5], 0, ErrTruncated, "5 of 12 header bytes"},
		{"truncated payload", good[:len(good)-1], 0, ErrTruncated, "payload bytes"},
		{"header only", good[:HeaderSize], 0, ErrTruncated, "0 of 23 payload bytes"},
		{"bad magic", hdr('X', 'S', Version, 1, 0), 0, ErrMagic, `got "XS"`},
		{"text", []byte("hello, world\n"), 0, ErrMagic, `"he"`},
		{"bad version", hdr('D', 'S', 2, 1, 0), 0, ErrVersion, "version 2"},
		{"unknown type", hdr('D', 'S', Version, 9, 0), 0, ErrCorrupt, "unknown frame type 9"},
		{"type zero", hdr('D', 'S', Version, 0, 0), 0, ErrCorrupt, "unknown frame type 0"},
		{"checksum", flipped, 0, ErrChecksum, ""},
		{"oversized payload", hdr('D', 'S', Version, 1, 1<<16+1), 1 << 16, ErrTooLarge, "payload of 65537 bytes, limit 65536"},
		{"oversized payload at default limit", hdr('D', 'S', Version, 1, 0xffffffff), 0, ErrTooLarge, "limit 268435456"},
		{"declared size over limit", rawFrame(TypeBatch, cat(batchHead(1), rawPart(CodecS2, 0, 1<<16+1, []byte{0}))), 1 << 16, ErrTooLarge, "exceeds the 65536-byte limit"},
		{"partitions sum over limit", rawFrame(TypeBatch, cat(batchHead(2), rawPart(CodecS2, 0, 1<<15, []byte{0}), rawPart(CodecZstd, 0, 1<<15+1, []byte{0}))), 1 << 16, ErrTooLarge, "partition 1: decoded batch of at least 65537 bytes"},
		{"s2 bomb declared small", rawFrame(TypeBatch, cat(batchHead(1), rawPart(CodecS2, 0, 100, s2bomb))), 1 << 16, ErrCorrupt, "decoded size differs"},
		{"s2 bomb declared at limit", rawFrame(TypeBatch, cat(batchHead(1), rawPart(CodecS2, 0, 1<<16, s2bomb))), 1 << 16, ErrCorrupt, "decoded size differs"},
		{"zstd bomb declared small", rawFrame(TypeBatch, cat(batchHead(1), rawPart(CodecZstd, 0, 100, zstdBomb))), 1 << 16, ErrCorrupt, "partition 0: zstd"},
		{"zstd bomb without content size", rawFrame(TypeBatch, cat(batchHead(1), rawPart(CodecZstd, 0, 1<<16, zstdBombNoSize))), 1 << 16, ErrCorrupt, "partition 0: zstd"},
		{"zstd short", rawFrame(TypeBatch, cat(batchHead(1), rawPart(CodecZstd, 0, 100, enc.EncodeAll(zeros[:50], nil)))), 0, ErrCorrupt, "decoded size differs"},
		{"s2 garbage", rawFrame(TypeBatch, cat(batchHead(1), rawPart(CodecS2, 0, 4, []byte{4, 0xff, 0xff, 0xff}))), 0, ErrCorrupt, "partition 0: s2"},
		{"zstd garbage", rawFrame(TypeBatch, cat(batchHead(1), rawPart(CodecZstd, 0, 4, []byte("nope")))), 0, ErrCorrupt, "partition 0: zstd"},
		{"unknown codec", rawFrame(TypeBatch, cat(batchHead(1), rawPart(7, 0, 0, nil))), 0, ErrCorrupt, "unknown codec 7"},
		{"unknown batch flags", rawFrame(TypeBatch, cat(batchHead(0)[:16], []byte{3, 0})), 0, ErrCorrupt, "unknown BATCH flags 0x3"},
		{"short batch", rawFrame(TypeBatch, make([]byte, 17)), 0, ErrCorrupt, "shorter than its 18-byte minimum"},
		{"bad partition count varint", rawFrame(TypeBatch, cat(batchHead(0)[:17], badVarint)), 0, ErrCorrupt, "bad partition count varint"},
		{"bad record count varint", rawFrame(TypeBatch, cat(batchHead(1), []byte{0}, badVarint)), 0, ErrCorrupt, "bad record count varint"},
		{"bad size varint", rawFrame(TypeBatch, cat(batchHead(1), []byte{0, 0}, badVarint)), 0, ErrCorrupt, "bad partition size varint"},
		{"bad encoded size varint", rawFrame(TypeBatch, cat(batchHead(1), []byte{1, 0, 0}, badVarint)), 0, ErrCorrupt, "bad encoded size varint"},
		{"truncated varint", rawFrame(TypeBatch, cat(batchHead(1), []byte{0, 0x80, 0x80})), 0, ErrCorrupt, "bad record count varint"},
		{"bad key tag varint", rawFrame(TypeBatch, cat(batchHead(1), rawPart(CodecNone, 1, 11, badVarint))), 0, ErrCorrupt, "record 0: bad key tag varint"},
		{"bad value varint", rawFrame(TypeBatch, cat(batchHead(1), rawPart(CodecNone, 1, 12, cat([]byte{0}, badVarint)))), 0, ErrCorrupt, "record 0: bad value length varint"},
		{"too many partitions", rawFrame(TypeBatch, cat(batchHead(1<<40), make([]byte, 8))), 0, ErrCorrupt, "1099511627776 partitions cannot fit in 8 bytes"},
		{"partitions one short", rawFrame(TypeBatch, cat(batchHead(2), rawPart(CodecNone, 0, 0, nil))), 0, ErrCorrupt, "2 partitions cannot fit in 3 bytes"},
		{"missing partition", rawFrame(TypeBatch, cat(batchHead(2), rawPart(CodecNone, 0, 3, []byte{0, 1, 'a'}))), 0, ErrCorrupt, "partition 1: codec of 1 bytes overruns"},
		{"too many records", rawFrame(TypeBatch, cat(batchHead(1), rawPart(CodecNone, 3, 4, []byte{0, 0, 0, 0}))), 0, ErrCorrupt, "3 records cannot fit in 4 bytes"},
		{"huge record count", rawFrame(TypeBatch, cat(batchHead(1), rawPart(CodecNone, 1<<62, 4, []byte{0, 0, 0, 0}))), 0, ErrCorrupt, "records cannot fit"},
		{"record count short", rawFrame(TypeBatch, cat(batchHead(1), rawPart(CodecNone, 1, 4, []byte{0, 0, 0, 0}))), 0, ErrCorrupt, "2 bytes after record 1"},
		{"record count long", rawFrame(TypeBatch, cat(batchHead(1), rawPart(CodecNone, 2, 4, []byte{0, 2, 'a', 'b'}))), 0, ErrCorrupt, "record 1: bad key tag varint"},
		{"key overruns", rawFrame(TypeBatch, cat(batchHead(1), rawPart(CodecNone, 1, 3, []byte{9, 'a', 0}))), 0, ErrCorrupt, "record 0: key of 8 bytes overruns"},
		{"value overruns", rawFrame(TypeBatch, cat(batchHead(1), rawPart(CodecNone, 1, 3, []byte{0, 5, 'a'}))), 0, ErrCorrupt, "record 0: value of 5 bytes overruns"},
		{"partition data overruns", rawFrame(TypeBatch, cat(batchHead(1), rawPart(CodecNone, 1, 9, []byte{0, 0}))), 0, ErrCorrupt, "partition data of 9 bytes overruns"},
		{"compressed data overruns", rawFrame(TypeBatch, cat(batchHead(1), []byte{1, 0, 4, 9, 1, 2})), 0, ErrCorrupt, "compressed partition of 9 bytes overruns"},
		{"trailing bytes after partitions", rawFrame(TypeBatch, cat(batchHead(1), rawPart(CodecNone, 0, 0, nil), []byte{0, 0, 0})), 0, ErrCorrupt, "3 bytes after the last partition"},
		{"trailing bytes after zstd", rawFrame(TypeBatch, cat(batchHead(1), rawPart(CodecZstd, 0, 50, cat(enc.EncodeAll(zeros[:50], nil), []byte{1, 2, 3})))), 0, ErrCorrupt, "partition 0: zstd"},
		{"long barrier", rawFrame(TypeBarrier, make([]byte, 17)), 0, ErrCorrupt, "BARRIER payload of 17 bytes, want 16"},
		{"short barrier", rawFrame(TypeBarrier, make([]byte, 15)), 0, ErrCorrupt, "BARRIER payload of 15 bytes, want 16"},
		{"EOS with payload", rawFrame(TypeEOS, []byte{0}), 0, ErrCorrupt, "EOS payload of 1 bytes, want 0"},
		{"STOP with payload", rawFrame(TypeStop, []byte{0}), 0, ErrCorrupt, "STOP payload of 1 bytes, want 0"},
	}
}

func TestReadErrors(t *testing.T) {
	prefix := rawFrame(TypeBarrier, make([]byte, 16)) // frame 0, 28 bytes
	for _, tc := range errorCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			// A valid EOS after the bad frame must not be reached.
			data := cat(prefix, tc.data, rawFrame(TypeEOS, nil))
			if tc.want == ErrTruncated {
				data = cat(prefix, tc.data) // the stream ends inside the frame
			}
			r := NewReader(bytes.NewReader(data), tc.limit)
			if _, err := r.Next(); err != nil {
				t.Fatalf("frame 0: %v", err)
			}
			_, err := r.Next()
			var fe *Error
			if !errors.As(err, &fe) {
				t.Fatalf("got %T %v, want *frame.Error", err, err)
			}
			if !errors.Is(err, tc.want) {
				t.Errorf("got %v, want %v", err, tc.want)
			}
			if fe.Offset != int64(len(prefix)) || fe.Frame != 1 {
				t.Errorf("Offset, Frame = %d, %d; want %d, 1", fe.Offset, fe.Frame, len(prefix))
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.detail) || !strings.Contains(msg, "(frame 1 at byte offset 28)") {
				t.Errorf("message %q does not contain %q and the frame's place", msg, tc.detail)
			}
			// Errors stick.
			if _, err2 := r.Next(); err2 != err {
				t.Errorf("second Next: %v, want the same error", err2)
			}
			if r.Offset() != int64(len(prefix)) {
				t.Errorf("Offset() = %d after the error, want %d", r.Offset(), len(prefix))
			}
		})
	}
}

func TestEOF(t *testing.T) {
	for _, tc := range []struct {
		name string
		data []byte
		n    int // frames before io.EOF
	}{
		{"empty", nil, 0},
		{"one", rawFrame(TypeEOS, nil), 1},
		{"two", cat(rawFrame(TypeEOS, nil), rawFrame(TypeStop, nil)), 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// OneByteReader makes every read short: boundaries must not
			// depend on how the input arrives.
			r := NewReader(iotest.OneByteReader(bytes.NewReader(tc.data)), 0)
			for i := range tc.n {
				if _, err := r.Next(); err != nil {
					t.Fatalf("frame %d: %v", i, err)
				}
			}
			for range 2 {
				if _, err := r.Next(); err != io.EOF {
					t.Fatalf("got %v, want io.EOF", err)
				}
			}
		})
	}
}

func TestReadErrorPassesThrough(t *testing.T) {
	boom := errors.New("boom")
	r := NewReader(io.MultiReader(bytes.NewReader(rawFrame(TypeEOS, nil)), iotest.ErrReader(boom)), 0)
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Next(); !errors.Is(err, boom) {
		t.Fatalf("got %v, want %v", err, boom)
	}
	if _, err := r.Next(); !errors.Is(err, boom) {
		t.Fatalf("second Next: %v, want %v to stick", err, boom)
	}
}

// countingWriter counts Write calls and fails after fail calls if fail > 0.
type countingWriter struct {
	bytes.Buffer
	writes, fail int
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.writes++
	if w.fail > 0 && w.writes >= w.fail {
		return 0, errors.New("disk full")
	}
	return w.Buffer.Write(p)
}

func TestWriterOneWritePerFrame(t *testing.T) {
	for _, codec := range codecs {
		var w countingWriter
		fw := NewWriter(&w, codec, 0)
		fw.WriteBatch(batchOf(1000, 1000, []Record{rec("a")}, []Record{rec("b")}))
		fw.WriteBarrier(Barrier{1, 1000})
		fw.WriteEOS()
		if w.writes != 3 {
			t.Errorf("%s: %d writes for 3 frames", codec, w.writes)
		}
	}
}

func TestWriterLimit(t *testing.T) {
	const limit = 1 << 10
	for _, codec := range codecs {
		t.Run(codec.String(), func(t *testing.T) {
			var buf bytes.Buffer
			w := NewWriter(&buf, codec, limit)
			// Compressible: s2 and zstd payloads are small, but no reader
			// with the same limit would decode the batch.
			big := batchOf(1000, 1000, []Record{rec(strings.Repeat("x", limit))})
			err := w.WriteBatch(big)
			if err == nil || !strings.Contains(err.Error(), "exceeds the 1024-byte frame size limit") {
				t.Fatalf("got %v, want a size limit error", err)
			}
			if buf.Len() != 0 {
				t.Fatalf("wrote %d bytes of a refused frame", buf.Len())
			}
			// Not sticky: the stream is whole and writing goes on. The
			// largest batch that fits: a decoded size of exactly the limit
			// (tag, 2-byte length, value) when compressed; with codec
			// none, a payload of exactly the limit (25 bytes of headers).
			n := limit - 3
			if codec == CodecNone {
				n = limit - 25
				over := batchOf(2000, 1000, []Record{rec(strings.Repeat("x", n+1))})
				if err := w.WriteBatch(over); err == nil {
					t.Fatal("payload one byte over the limit accepted")
				}
			}
			fits := batchOf(2000, 1000, []Record{rec(strings.Repeat("x", n))})
			if err := w.WriteBatch(fits); err != nil {
				t.Fatalf("batch at the limit: %v", err)
			}
			got, err := readAll(buf.Bytes(), limit)
			if err != io.EOF || len(got) != 1 {
				t.Fatalf("read back %d frames, %v", len(got), err)
			}
			if err := equalBatch(got[0].Batch, fits); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestWriterErrorSticks(t *testing.T) {
	w := &countingWriter{fail: 2}
	fw := NewWriter(w, CodecNone, 0)
	if err := fw.WriteEOS(); err != nil {
		t.Fatal(err)
	}
	err := fw.WriteStop()
	if err == nil {
		t.Fatal("write error not returned")
	}
	if err2 := fw.WriteBatch(batchOf(1, 1)); err2 != err {
		t.Fatalf("after an error: %v, want %v", err2, err)
	}
	if err2 := fw.WriteBarrier(Barrier{}); err2 != err {
		t.Fatalf("after an error: %v, want %v", err2, err)
	}
	if w.writes != 2 {
		t.Fatalf("%d writes, want no more after the error", w.writes)
	}
}

func TestWriteFrameUnknownType(t *testing.T) {
	var buf bytes.Buffer
	if err := NewWriter(&buf, CodecNone, 0).WriteFrame(&Frame{Type: 9}); err == nil || buf.Len() != 0 {
		t.Fatalf("got %v and %d bytes, want an error and nothing written", err, buf.Len())
	}
}

func TestCodecParse(t *testing.T) {
	for _, c := range codecs {
		got, err := ParseCodec(c.String())
		if err != nil || got != c {
			t.Errorf("ParseCodec(%q) = %v, %v", c.String(), got, err)
		}
		var u Codec
		if err := u.UnmarshalText([]byte(c.String())); err != nil || u != c {
			t.Errorf("UnmarshalText(%q) = %v, %v", c.String(), u, err)
		}
	}
	_, err := ParseCodec("gzip")
	if err == nil || !strings.Contains(err.Error(), "none, s2, zstd") {
		t.Errorf("ParseCodec(gzip) error %v does not list the choices", err)
	}
	var u Codec
	if err := u.UnmarshalText([]byte("lz4")); err == nil {
		t.Error("UnmarshalText(lz4) succeeded")
	}
	if s := Codec(9).String(); s != "codec 9" {
		t.Errorf("Codec(9) = %q", s)
	}
	for typ, want := range map[Type]string{TypeBatch: "BATCH", TypeBarrier: "BARRIER", TypeEOS: "EOS", TypeStop: "STOP", 0: "type 0"} {
		if typ.String() != want {
			t.Errorf("Type(%d) = %q, want %q", typ, typ.String(), want)
		}
	}
}

func TestBatchLen(t *testing.T) {
	b := batchOf(1, 1, []Record{rec("a"), rec("b")}, nil, []Record{rec("c")})
	if b.Len() != 3 {
		t.Fatalf("Len() = %d, want 3", b.Len())
	}
}

func TestDecodeNoAllocPerRecord(t *testing.T) {
	var recs []Record
	for i := range 1000 {
		recs = append(recs, krec(fmt.Sprint(i), "value"))
	}
	for _, codec := range codecs {
		data := encode(t, codec, &Frame{Type: TypeBatch, Batch: batchOf(1, 1, recs, recs)})
		src := bytes.NewReader(data)
		r := NewReader(src, 0)
		r.Next() // warm up the buffers
		allocs := testing.AllocsPerRun(20, func() {
			src.Reset(data)
			r.r.Reset(src)
			r.err = nil
			if _, err := r.Next(); err != nil {
				t.Fatal(err)
			}
		})
		// A few per frame (the Frame; the race detector's pools), none
		// per record.
		if allocs > 10 {
			t.Errorf("%s: %.0f allocations per 2000-record frame", codec, allocs)
		}
	}
}
