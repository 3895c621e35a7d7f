package frame

import (
	"sync"
	"sync/atomic"

	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
)

// The zstd encoder and decoder are safe for concurrent EncodeAll/DecodeAll
// (each runs up to GOMAXPROCS calls at once, one per partition) and costly to
// build, so one of each serves the whole process. The decoder stops at
// cap(dst), which the reader sets to the size the frame declares, so a small
// frame cannot expand without bound.
var (
	zstdOnce    sync.Once
	zstdEncoder *zstd.Encoder
	zstdDecoder *zstd.Decoder
)

func zstdCodecs() (*zstd.Encoder, *zstd.Decoder) {
	zstdOnce.Do(func() {
		var err error
		zstdEncoder, err = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest))
		if err != nil {
			panic(err) // only for invalid options, which are constant here
		}
		zstdDecoder, err = zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecodeAllCapLimit(true))
		if err != nil {
			panic(err)
		}
	})
	return zstdEncoder, zstdDecoder
}

// compress appends src encoded with c to dst.
func compress(dst []byte, c Codec, src []byte) []byte {
	switch c {
	case CodecS2:
		n := s2.MaxEncodedLen(len(src))
		if n < 0 {
			panic("frame: partition too large for s2") // above the 4 GiB frame limit
		}
		start := len(dst)
		dst = grow(dst, n)
		out := s2.Encode(dst[start:start+n], src)
		return dst[:start+len(out)]
	case CodecZstd:
		enc, _ := zstdCodecs()
		return enc.EncodeAll(src, dst)
	}
	return append(dst, src...)
}

// decompress decodes src, which must decode to exactly size bytes, into
// dst[:size]; dst has at least size bytes, and its capacity bounds what a
// hostile src can make the zstd decoder write.
func decompress(dst []byte, c Codec, src []byte, size int) ([]byte, error) {
	switch c {
	case CodecS2:
		n, err := s2.DecodedLen(src)
		if err != nil {
			return nil, err
		}
		if n != size {
			return nil, errSizeMismatch
		}
		return s2.Decode(dst[:size], src)
	case CodecZstd:
		_, dec := zstdCodecs()
		out, err := dec.DecodeAll(src, dst[:0])
		if err != nil {
			return nil, err
		}
		if len(out) != size {
			return nil, errSizeMismatch
		}
		return out, nil
	}
	return nil, errUnknownCodec
}

// grow returns b with room for n more bytes.
func grow(b []byte, n int) []byte {
	if cap(b)-len(b) >= n {
		return b
	}
	nb := make([]byte, len(b), 2*cap(b)+n)
	copy(nb, b)
	return nb
}

// parallel calls f(0) ... f(n-1) on workers goroutines.
func parallel(workers, n int, f func(i int)) {
	var wg sync.WaitGroup
	var next atomic.Int64
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				f(i)
			}
		}()
	}
	wg.Wait()
}
