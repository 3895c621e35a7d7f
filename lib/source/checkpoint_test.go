package source

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"dstream/lib/checkpoint"
	"dstream/lib/frame"
	"dstream/lib/stage"
)

// barrierCollect is a collect that also keeps barriers, as "BARRIER N T".
type barrierCollect struct{ collect }

func (c *barrierCollect) EmitBarrier(b frame.Barrier) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.got = append(c.got, fmt.Sprintf("BARRIER %d %d", b.ID, b.Time))
	return nil
}

// Processing-time batches are cut again where the log says after a
// restart: the committed ones are not sent, the others are sent as they
// were, and then the clock cuts again.
func TestProcTimeReplay(t *testing.T) {
	root := t.TempDir()
	dir, err := checkpoint.Open(root, "produce")
	if err != nil {
		t.Fatal(err)
	}
	start := func(clock stage.Clock, in Input, out stage.Emitter, fed chan struct{}) chan error {
		cp := &Checkpoints{Dir: dir, Every: 2}
		if err := cp.Open(); err != nil {
			t.Fatal(err)
		}
		c := testCommon(clock)
		c.CP = cp
		done := make(chan error, 1)
		lc := LinesConfig{Common: c, Inputs: []Input{in}}
		if fed != nil {
			lc.afterChunk = func() { fed <- struct{}{} }
		}
		src := &Checkpointed{Src: NewLines(lc), CP: cp}
		go func() { done <- src.Run(context.Background(), out) }()
		return done
	}

	// The first run: batches by the clock, a barrier every 2.
	clock := stage.NewFakeClock(time.UnixMilli(10_500))
	fed := make(chan struct{}, 16)
	r, w := io.Pipe()
	var first barrierCollect
	done := start(clock, readerInput("f", r), &first, fed)
	waitFor(func() bool { return clock.Waiters() == 1 })
	send := func(s string) { io.WriteString(w, s); <-fed }
	advance := func(d time.Duration, n int) {
		clock.Advance(d)
		waitFor(func() bool { return len(first.batches()) >= n && clock.Waiters() == 1 })
	}
	send("a\nb\n")
	advance(500*time.Millisecond, 1)
	send("c\n")
	advance(time.Second, 3) // 12000, then BARRIER 1
	advance(time.Second, 4)
	send("d\ne\n")
	advance(time.Second, 6) // 14000, BARRIER 2
	if err := dir.Commit(1); err != nil {
		t.Fatal(err)
	}
	w.Close() // the run ends: 15000 goes out, and a last barrier
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	want1 := "11000: a b\n12000: c\nBARRIER 1 12000\n13000:\n14000: d e\nBARRIER 2 14000\n15000:\nBARRIER 3 15000"
	if got := strings.Join(first.batches(), "\n"); got != want1 {
		t.Fatalf("first run:\n%s\nwant\n%s", got, want1)
	}

	// The restart, from checkpoint 1, over the same input and one more
	// line: 13000 to 15000 again as they were, then f by the clock.
	var second barrierCollect
	clock = stage.NewFakeClock(time.UnixMilli(20_500))
	if err := <-start(clock, stringInput("f", "a\nb\nc\nd\ne\nf\n"), &second, nil); err != nil {
		t.Fatal(err)
	}
	want2 := "13000:\n14000: d e\nBARRIER 2 14000\n15000:\n21000: f\nBARRIER 3 21000"
	if got := strings.Join(second.batches(), "\n"); got != want2 {
		t.Fatalf("restart:\n%s\nwant\n%s", got, want2)
	}
	b, err := os.ReadFile(filepath.Join(dir.Path, batchLogName))
	if err != nil || string(b) != "11000 2\n12000 3\n13000 3\n14000 5\n15000 5\n21000 6\n" {
		t.Fatalf("batches.log = %q, %v", b, err)
	}

	// An input that shrank cannot give the batches again.
	if err := dir.Commit(1); err != nil {
		t.Fatal(err)
	}
	err = <-start(clock, stringInput("f", "a\nb\nc\n"), &barrierCollect{}, nil)
	if err == nil || !strings.Contains(err.Error(), "the input ended after 3 records, but before the restart produce had read 5 (batch 14000): did a file change?") {
		t.Fatalf("shrunk input: %v", err)
	}
}

// A torn last line of the log is a batch that never went out: dropped.
func TestBatchLogTorn(t *testing.T) {
	path := filepath.Join(t.TempDir(), batchLogName)
	os.WriteFile(path, []byte("1000 2\n2000 3\n30"), 0o600)
	b, err := readBoundaries(path)
	if err != nil || len(b) != 2 || b[1] != (boundary{2000, 3}) {
		t.Fatalf("%v %v", b, err)
	}
	if data, _ := os.ReadFile(path); string(data) != "1000 2\n2000 3\n" {
		t.Fatalf("log not cut back: %q", data)
	}
	os.WriteFile(path, []byte("1000 2\n900 3\n"), 0o600)
	if _, err := readBoundaries(path); err == nil || !strings.Contains(err.Error(), `:2: "900 3" is not a batch boundary`) {
		t.Fatalf("%v", err)
	}
}
