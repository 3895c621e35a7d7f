package source

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"dstream/lib/stage"
)

func TestWatch(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("old.txt", "there before the start\n")
	clock := stage.NewFakeClock(time.UnixMilli(10_000))
	c := testCommon(clock)
	c.Interval = 2000 // polled every second
	w := NewWatch(dir, LinesConfig{Common: c})
	polled := make(chan struct{}, 16)
	w.afterPoll = func() { polled <- struct{}{} }
	var out collect
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx, &out) }()
	step := func() {
		waitFor(func() bool { return clock.Waiters() == 1 })
		clock.Advance(time.Second)
		<-polled
	}

	waitFor(func() bool { return clock.Waiters() == 1 }) // the start listing is done
	write("b.txt", "b1\nb2")
	write("a.txt", "a1\n")
	write(".hidden", "no\n")
	write("_tmp", "no\n")
	os.Mkdir(filepath.Join(dir, "sub"), 0o755)
	step() // 11 s: a.txt, b.txt into batch 12000
	step() // 12 s: batch 12000 out
	write("c.txt", "c1\n")
	step()                                                             // 13 s: c.txt into batch 14000
	os.Rename(filepath.Join(dir, "_tmp"), filepath.Join(dir, "d.txt")) // moved in: now seen
	write("a.txt", "rewritten\n")                                      // a name is read once
	step()                                                             // 14 s: d.txt, then batch 14000 out
	step()
	step() // 16 s: batch 16000, empty
	waitFor(func() bool { return clock.Waiters() == 1 })
	cancel()
	if err := <-done; err != context.Canceled {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	want := "12000: a1 b1 b2\n14000: c1 no\n16000:"
	if got := strings.Join(out.batches(), "\n"); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestWatchMissingDir(t *testing.T) {
	err := NewWatch("no/such/dir", LinesConfig{Common: testCommon(nil)}).Run(context.Background(), &collect{})
	if err == nil || !strings.Contains(err.Error(), "no/such/dir") {
		t.Errorf("got %v", err)
	}
}
