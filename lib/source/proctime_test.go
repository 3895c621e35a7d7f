package source

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"dstream/lib/stage"
)

// procHarness runs a processing-time Lines source over a pipe, on a
// FakeClock that starts at 10.5 s.
type procHarness struct {
	clock *stage.FakeClock
	w     *io.PipeWriter
	out   collect
	done  chan error
	fed   chan struct{} // a chunk was consumed
}

func startProc(t *testing.T, parts int) *procHarness {
	t.Helper()
	h := &procHarness{clock: stage.NewFakeClock(time.UnixMilli(10_500)), done: make(chan error, 1), fed: make(chan struct{}, 16)}
	r, w := io.Pipe()
	h.w = w
	c := testCommon(h.clock)
	c.Partitions = parts
	cfg := LinesConfig{Common: c, Inputs: []Input{readerInput("stdin", r)}}
	cfg.afterChunk = func() { h.fed <- struct{}{} }
	go func() { h.done <- NewLines(cfg).Run(context.Background(), &h.out) }()
	waitFor(func() bool { return h.clock.Waiters() == 1 })
	return h
}

// send writes lines and waits until they are in the current batch.
func (h *procHarness) send(s string) {
	io.WriteString(h.w, s)
	<-h.fed
}

// advance moves the clock and waits for the timer to be set again.
func (h *procHarness) advance(d time.Duration, batches int) {
	h.clock.Advance(d)
	waitFor(func() bool { return len(h.out.batches()) >= batches && h.clock.Waiters() == 1 })
}

func TestProcessingTime(t *testing.T) {
	h := startProc(t, 2)
	h.send("a\nb\n")
	h.send("c") // a partial line waits for its end
	h.send("\nd\n")
	h.advance(500*time.Millisecond, 1) // 11.0 s: batch 11000 is due
	h.advance(2*time.Second, 3)        // 13.0 s: two empty batches
	h.send("e\n")
	h.w.Close() // end of input: the current batch goes out at its time
	if err := <-h.done; err != nil {
		t.Fatal(err)
	}
	want := "11000: a b | c d\n12000: |\n13000: |\n14000: | e"
	if got := strings.Join(h.out.batches(), "\n"); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestProcessingTimeErrors(t *testing.T) {
	h := startProc(t, 1)
	h.w.CloseWithError(fmt.Errorf("boom"))
	if err := <-h.done; err == nil || err.Error() != "boom" {
		t.Errorf("a read error: got %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r, _ := io.Pipe() // never written: only cancellation ends the run
	cfg := LinesConfig{Common: testCommon(nil), Inputs: []Input{readerInput("stdin", r)}}
	if err := NewLines(cfg).Run(ctx, &collect{}); err != context.Canceled {
		t.Errorf("cancelled: got %v", err)
	}
	cfg.Inputs = []Input{FileInput("no/such/file", nil)}
	if _, err := runLines(t, cfg); err == nil || err.Error() != "open no/such/file: no such file or directory" {
		t.Errorf("unreadable file: got %v", err)
	}
}

// TestProcessingTimeChunks checks that a batch bigger than the chunk size
// goes out in chunks as it fills, the last one at its time without More.
func TestProcessingTimeChunks(t *testing.T) {
	clock := stage.NewFakeClock(time.UnixMilli(0))
	c := testCommon(clock)
	c.Chunk = 2 * (4 + 6) // room for two 4-byte lines
	var out collect
	cfg := LinesConfig{Common: c, Inputs: []Input{stringInput("in", "aaaa\nbbbb\ncccc\ndddd\neeee\n")}}
	if err := NewLines(cfg).Run(context.Background(), &out); err != nil {
		t.Fatal(err)
	}
	want := "1000: (more) aaaa bbbb\n1000: (more) cccc dddd\n1000: eeee"
	if got := strings.Join(out.batches(), "\n"); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// TestBatcherChunks checks that a batch emitted whole is cut into chunks.
func TestBatcherChunks(t *testing.T) {
	b := NewBatcher(1000, 2)
	b.Chunk = 3 * (2 + 6)
	for _, v := range []string{"a1", "a2", "a3", "b1", "b2"} {
		b.Add(nil, false, []byte(v))
	}
	var out collect
	if err := b.Emit(&out, 5000); err != nil {
		t.Fatal(err)
	}
	want := "5000: (more) a1 | a2 a3\n5000: b1 | b2"
	if got := strings.Join(out.batches(), "\n"); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// Big reads are batched in place (not copied) and their buffers go back to
// the reader once the chunks holding their lines are out: every line must
// come out whole and in order, whatever the chunk size. (The reader reuses
// a buffer only three reads later, so an early release would rarely show
// here: holding the buffers is the guarantee, this is the check of the
// lines.)
func TestProcessingTimeInPlace(t *testing.T) {
	var in strings.Builder
	var want []string
	for i := range 60000 {
		line := fmt.Sprintf("line-%d-%s", i, strings.Repeat("x", i%150))
		want = append(want, line)
		in.WriteString(line + "\n")
	}
	for _, chunk := range []int{0, 64 << 10, 300 << 10} {
		c := testCommon(nil)
		c.Chunk = chunk
		var out collect
		cfg := LinesConfig{Common: c, Inputs: []Input{stringInput("big", in.String())}}
		if err := NewLines(cfg).Run(context.Background(), &out); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, b := range out.batches() {
			_, recs, _ := strings.Cut(b, ":")
			recs = strings.TrimPrefix(recs, " (more)")
			got = append(got, strings.Fields(recs)...)
		}
		if len(got) != len(want) {
			t.Fatalf("chunk %d: %d lines out, want %d", chunk, len(got), len(want))
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("chunk %d: line %d is %q, want %q", chunk, i, got[i], want[i])
			}
		}
	}
}
