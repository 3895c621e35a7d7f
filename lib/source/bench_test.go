package source

import (
	"bytes"
	"context"
	"io"
	"strconv"
	"testing"
	"time"

	"dstream/lib/frame"
	"dstream/lib/stage"
)

// transactions returns n lines in the generator's format, about 50 bytes each.
func transactions(n int) []byte {
	g := NewGenerate(GenerateConfig{Random: true, Seed: 1})
	var buf, line []byte
	for i := range n {
		line = g.next(line[:0], int64(i), int64(i)*1000)
		buf = append(append(buf, line...), '\n')
	}
	return buf
}

type frameEmit struct{ w *frame.Writer }

func (e frameEmit) Emit(b *frame.Batch) error { return e.w.WriteBatch(b) }

// BenchmarkLines measures produce's hot path: reading a stream, splitting
// lines, building batches and writing frames (to io.Discard).
func BenchmarkLines(b *testing.B) {
	data := transactions(1_000_000)
	clock := stage.NewFakeClock(epoch)
	out := frameEmit{frame.NewWriter(io.Discard, frame.CodecNone, 0)}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		cfg := LinesConfig{Common: testCommon(clock), Inputs: []Input{readerInput("bench", bytes.NewReader(data))}}
		// A batch time passes with every chunk: batches of about 1 MiB,
		// reused as in a long run.
		cfg.afterChunk = func() { clock.Advance(time.Second) }
		if err := NewLines(cfg).Run(context.Background(), out); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSplit measures line splitting and batch building alone.
func BenchmarkSplit(b *testing.B) {
	data := transactions(200_000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	bt := NewBatcher(1000, 1)
	f := newLineFeeder(LinesConfig{Common: testCommon(nil)})
	add := func(r *record) error { bt.Add(r.key, r.keyed, r.value); return nil }
	for b.Loop() {
		for off := 0; off < len(data); off += chunkSize {
			end := min(off+chunkSize, len(data))
			f.sp.feed(chunk{name: "bench", data: data[off:end], first: off == 0, end: end == len(data)})
			if err := f.fill(add); err != nil {
				b.Fatal(err)
			}
		}
		bt.Reset()
	}
}

// BenchmarkEventTime measures event-time batching of csv lines.
func BenchmarkEventTime(b *testing.B) {
	var data []byte
	for i := range 200_000 {
		data = strconv.AppendInt(data, int64(i*10), 10)
		data = append(data, ",123-ABC-789,10.34,Drug Store\n"...)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		cfg := LinesConfig{Common: testCommon(nil), Inputs: []Input{readerInput("bench", bytes.NewReader(data))},
			Line: LineConfig{Format: FormatCSV, TimeField: "1"}}
		out := frameEmit{frame.NewWriter(io.Discard, frame.CodecNone, 0)}
		if err := NewLines(cfg).Run(context.Background(), out); err != nil {
			b.Fatal(err)
		}
	}
}
