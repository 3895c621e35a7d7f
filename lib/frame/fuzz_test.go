package frame

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"runtime"
	"testing"
)

// fuzzLimit is the size limit the fuzzed reader runs with: small, so that a
// reader that allocates by what a frame declares rather than what it holds
// stands out.
const fuzzLimit = 4 << 10

// fuzzAllocSlack is what decoding may allocate beyond 64 bytes per byte of
// the limit (a Record is 56 bytes and the smallest record 2 bytes): the zstd
// decoders' lazily made block buffers.
const fuzzAllocSlack = 1 << 20

func FuzzReader(f *testing.F) {
	for _, codec := range codecs {
		var all []byte
		for _, tc := range roundTripCases() {
			if tc.name == "parallel" || tc.name == "big value" || tc.name == "many partitions" {
				continue // over the fuzz limit: seeds should be accepted
			}
			data := encode(f, codec, tc.frame)
			f.Add(data)
			all = append(all, data...)
			// Corrupted variants: truncated, a flipped bit, a bad length.
			f.Add(data[:len(data)-1])
			flipped := append([]byte{}, data...)
			flipped[len(flipped)/2] ^= 0x10
			f.Add(flipped)
		}
		f.Add(all)
	}
	for _, tc := range errorCases(f) {
		f.Add(tc.data)
	}
	// Warm up the process-wide zstd codecs, so that building them is not
	// counted against the first input.
	readAll(encode(f, CodecZstd, roundTripCases()[7].frame), 0)

	f.Fuzz(func(t *testing.T, data []byte) {
		checkStream(t, data)
		// Mutations almost never keep a checksum right, which would hide
		// the payload decoder from the fuzzer: try again with the
		// checksums fixed.
		if fixed := fixChecksums(data); !bytes.Equal(fixed, data) {
			checkStream(t, fixed)
		}
	})
}

// fixChecksums returns a copy of data with the checksum of every frame it
// can delimit recomputed.
func fixChecksums(data []byte) []byte {
	data = append([]byte{}, data...)
	for off := 0; len(data)-off >= HeaderSize; {
		h := data[off:]
		end := off + HeaderSize + int(binary.LittleEndian.Uint32(h[4:]))
		if end > len(data) || end < off {
			end = len(data)
		}
		crc := crc32.Update(0, castagnoli, h[:8])
		crc = crc32.Update(crc, castagnoli, data[off+HeaderSize:end])
		binary.LittleEndian.PutUint32(h[8:], crc)
		off = end
	}
	return data
}

func checkStream(t *testing.T, data []byte) {
	{
		r := NewReader(bytes.NewReader(data), fuzzLimit)
		var frames []*Frame
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		var err error
		for {
			var fr *Frame
			fr, err = r.Next()
			if err != nil {
				break
			}
			c := *fr
			if fr.Batch != nil {
				if n := fr.Batch.Len(); n > fuzzLimit/2 {
					t.Fatalf("accepted %d records, more than fit in %d bytes", n, fuzzLimit)
				}
				c.Batch = fr.Batch.Clone()
			}
			frames = append(frames, &c)
		}
		runtime.ReadMemStats(&after)
		// Each frame may allocate up to the limit (and Records for it),
		// plus its clone.
		bound := uint64(len(frames)+1)*(64*fuzzLimit+fuzzLimit) + fuzzAllocSlack
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > bound {
			t.Fatalf("reading %d bytes allocated %d bytes (bound %d)", len(data), alloc, bound)
		}
		if err != io.EOF {
			var fe *Error
			if !errors.As(err, &fe) {
				t.Fatalf("error %T %v is not a *frame.Error", err, err)
			}
			if fe.Frame != int64(len(frames)) || fe.Offset != r.Offset() || fe.Offset > int64(len(data)) {
				t.Fatalf("error at frame %d offset %d after %d frames ending at %d", fe.Frame, fe.Offset, len(frames), r.Offset())
			}
			if _, err2 := r.Next(); err2 != err {
				t.Fatalf("error did not stick: %v then %v", err, err2)
			}
		} else if r.Offset() != int64(len(data)) {
			t.Fatalf("io.EOF at offset %d of %d", r.Offset(), len(data))
		}

		// Round trip: whatever was accepted re-encodes, in every codec, to
		// frames that decode equal. (At the default limit: a batch that
		// fits compressed may not fit uncompressed.)
		for _, codec := range codecs {
			var buf bytes.Buffer
			w := NewWriter(&buf, codec, 0)
			for _, fr := range frames {
				if err := w.WriteFrame(fr); err != nil {
					t.Fatalf("re-encoding %s with %s: %v", fr.Type, codec, err)
				}
			}
			got, err := readAll(buf.Bytes(), 0)
			if err != io.EOF {
				t.Fatalf("re-encoded with %s: %v", codec, err)
			}
			if len(got) != len(frames) {
				t.Fatalf("re-encoded with %s: %d frames, want %d", codec, len(got), len(frames))
			}
			for i := range got {
				if err := equalFrame(got[i], frames[i]); err != nil {
					t.Fatalf("re-encoded with %s: frame %d: %v", codec, i, err)
				}
			}
		}
	}
}
