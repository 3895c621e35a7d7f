package source

import (
	"context"
	"strings"
	"testing"
	"time"

	"dstream/lib/stage"
)

func TestQueue(t *testing.T) {
	files := func() []Input {
		return []Input{stringInput("a", "1\n2\n"), stringInput("b", ""), stringInput("c", "3")}
	}
	def := func() *Input { in := stringInput("d", "x\n"); return &in }
	tests := []struct {
		name string
		cfg  QueueConfig
		want string
	}{
		{"one at a time", QueueConfig{}, "1000: 1 2\n2000:\n3000: 3"},
		{"start", QueueConfig{Start: 5000}, "6000: 1 2\n7000:\n8000: 3"},
		{"all at once", QueueConfig{AllAtOnce: true}, "1000: 1 2 3"},
		{"padded with empty batches", QueueConfig{Batches: 5}, "1000: 1 2\n2000:\n3000: 3\n4000:\n5000:"},
		{"padded with the default", QueueConfig{Batches: 4, Default: def()}, "1000: 1 2\n2000:\n3000: 3\n4000: x"},
		{"all at once then default", QueueConfig{AllAtOnce: true, Batches: 3, Default: def()}, "1000: 1 2 3\n2000: x\n3000: x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			cfg.Common, cfg.Files = testCommon(nil), files()
			var c collect
			if err := NewQueue(cfg).Run(context.Background(), &c); err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(c.batches(), "\n"); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

// TestQueueRealtime checks the pacing, one batch per interval, and that a
// default queue runs until cancelled.
func TestQueueRealtime(t *testing.T) {
	clock := stage.NewFakeClock(time.UnixMilli(0))
	def := stringInput("d", "x\n")
	cfg := QueueConfig{Common: testCommon(clock), Files: []Input{stringInput("a", "1\n")}, Default: &def, Realtime: true}
	var c collect
	c.ch = make(chan string, 8)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- NewQueue(cfg).Run(ctx, &c) }()
	if got := <-c.ch; got != "1000: 1" {
		t.Fatalf("first batch %q", got)
	}
	for _, want := range []string{"2000: x", "3000: x"} {
		waitFor(func() bool { return clock.Waiters() == 1 })
		select {
		case got := <-c.ch:
			t.Fatalf("batch %q before its time", got)
		default:
		}
		clock.Advance(time.Second)
		if got := <-c.ch; got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
	waitFor(func() bool { return clock.Waiters() == 1 })
	cancel()
	if err := <-done; err != context.Canceled {
		t.Errorf("got %v, want context.Canceled", err)
	}
}
