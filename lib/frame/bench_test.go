package frame

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"
)

const benchRecords = 10000 // records per batch

// fixedRecords are benchRecords unkeyed records of 100 bytes each.
func fixedRecords() []Record {
	recs := make([]Record, benchRecords)
	for i := range recs {
		v := fmt.Appendf(nil, "%08d", i)
		recs[i].Value = append(v, bytes.Repeat([]byte{'x'}, 92)...)
	}
	return recs
}

var descriptions = []string{
	"Grocery Store", "Gas Station", "Restaurant", "Online Shopping", "Pharmacy",
	"Coffee Shop", "Electronics Store", "Utility Payment", "Movie Theater", "Bookstore",
}

// textRecords are transaction lines as the seed's examples have them:
// id,date,account,amount,description.
func textRecords() []Record {
	rng := rand.New(rand.NewPCG(1, 2))
	recs := make([]Record, benchRecords)
	for i := range recs {
		acct := fmt.Sprintf("%03d-%c%c%c-%03d", rng.IntN(1000), 'A'+rng.IntN(26), 'A'+rng.IntN(26), 'A'+rng.IntN(26), rng.IntN(1000))
		recs[i].Value = fmt.Appendf(nil, "%d,%02d/%02d/2026,%s,%d.%02d,%s",
			i, 1+rng.IntN(12), 1+rng.IntN(28), acct, rng.IntN(500), rng.IntN(100), descriptions[rng.IntN(len(descriptions))])
	}
	return recs
}

// split makes a batch of recs in p near-equal partitions.
func split(recs []Record, p int) *Batch {
	b := &Batch{Time: 2000, Interval: 1000}
	for i := range p {
		b.Partitions = append(b.Partitions, Partition{Records: recs[i*len(recs)/p : (i+1)*len(recs)/p]})
	}
	return b
}

func dataSize(b *Batch) int {
	n := 0
	for _, p := range b.Partitions {
		for _, r := range p.Records {
			n += len(r.Key) + len(r.Value)
		}
	}
	return n
}

// benchRoundTrip writes b and reads it back through a buffer, as through a
// pipe, b.N times. Throughput counts the records' bytes.
func benchRoundTrip(bm *testing.B, b *Batch, codec Codec) {
	var pipe bytes.Buffer
	w := NewWriter(&pipe, codec, 0)
	r := NewReader(&pipe, 0)
	if err := w.WriteBatch(b); err != nil {
		bm.Fatal(err)
	}
	wire := pipe.Len()
	if _, err := r.Next(); err != nil {
		bm.Fatal(err)
	}
	bm.SetBytes(int64(dataSize(b)))
	bm.ReportAllocs()
	bm.ResetTimer()
	for range bm.N {
		if err := w.WriteBatch(b); err != nil {
			bm.Fatal(err)
		}
		f, err := r.Next()
		if err != nil {
			bm.Fatal(err)
		}
		if f.Batch.Len() != benchRecords {
			bm.Fatal("records lost")
		}
	}
	bm.ReportMetric(float64(dataSize(b))/float64(wire), "ratio")
}

func benchEncode(bm *testing.B, b *Batch, codec Codec) {
	w := NewWriter(io.Discard, codec, 0)
	bm.SetBytes(int64(dataSize(b)))
	bm.ReportAllocs()
	for range bm.N {
		if err := w.WriteBatch(b); err != nil {
			bm.Fatal(err)
		}
	}
}

// repeatReader returns the same bytes forever.
type repeatReader struct {
	data []byte
	off  int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	n := copy(p, r.data[r.off:])
	r.off = (r.off + n) % len(r.data)
	return n, nil
}

func benchDecode(bm *testing.B, b *Batch, codec Codec) {
	var buf bytes.Buffer
	if err := NewWriter(&buf, codec, 0).WriteBatch(b); err != nil {
		bm.Fatal(err)
	}
	r := NewReader(&repeatReader{data: buf.Bytes()}, 0)
	bm.SetBytes(int64(dataSize(b)))
	bm.ReportAllocs()
	for range bm.N {
		if _, err := r.Next(); err != nil {
			bm.Fatal(err)
		}
	}
}

// BenchmarkFrame: go test -run '^$' -bench Frame -cpu 1 ./lib/frame
func BenchmarkFrame(bm *testing.B) {
	sets := []struct {
		name string
		recs []Record
	}{{"100B", fixedRecords()}, {"text", textRecords()}}
	for _, set := range sets {
		for _, parts := range []int{1, 8} {
			b := split(set.recs, parts)
			for _, codec := range codecs {
				name := fmt.Sprintf("%s/p%d/%s", set.name, parts, codec)
				bm.Run("RoundTrip/"+name, func(bm *testing.B) { benchRoundTrip(bm, b, codec) })
				bm.Run("Encode/"+name, func(bm *testing.B) { benchEncode(bm, b, codec) })
				bm.Run("Decode/"+name, func(bm *testing.B) { benchDecode(bm, b, codec) })
			}
		}
	}
}
