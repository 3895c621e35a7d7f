package source

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"dstream/lib/stage"
)

func TestEventBatcher(t *testing.T) {
	tests := []struct {
		name     string
		lateness int64
		times    []int64
		want     string // batches after finish
		late     []int64
	}{
		{"in order with a gap", 0, []int64{100, 900, 1000, 3500},
			"1000: 100 900\n2000: 1000\n3000:\n4000: 3500", nil},
		{"a record at the end of a batch belongs to the next", 0, []int64{999, 1000},
			"1000: 999\n2000: 1000", nil},
		{"lateness keeps a batch open", 500, []int64{1200, 1400, 900, 1600, 800},
			"1000: 900\n2000: 1200 1400 1600", []int64{800}},
		{"no lateness: an earlier batch is late", 0, []int64{1500, 2100, 1999, 500},
			"2000: 1500\n3000: 2100", []int64{1999, 500}},
		{"the stream starts at the earliest batch before any emission", 2000, []int64{3500, 1500},
			"2000: 1500\n3000:\n4000: 3500", nil},
		{"negative times", 0, []int64{-1500, -200, 0},
			"-1000: -1500\n0: -200\n1000: 0", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c collect
			e := newEventBatcher(Common{Interval: 1000, Partitions: 1, MaxFrame: 1 << 20}, tt.lateness, &c, nil)
			var late []int64
			for _, ts := range tt.times {
				v := []byte(strconv.FormatInt(ts, 10))
				err := e.add(context.Background(), ts, nil, false, v)
				var le *lateError
				if errors.As(err, &le) {
					late = append(late, ts)
				} else if err != nil {
					t.Fatal(err)
				}
			}
			if err := e.finish(context.Background()); err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(c.batches(), "\n"); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
			if itoas(late) != itoas(tt.late) {
				t.Errorf("late %v, want %v", late, tt.late)
			}
		})
	}
}

func TestEventBatcherGap(t *testing.T) {
	var c collect
	e := newEventBatcher(Common{Interval: 1, Partitions: 1, MaxFrame: 1 << 20}, 0, &c, nil)
	e.add(context.Background(), 0, nil, false, nil)
	err := e.add(context.Background(), 5_000_000, nil, false, nil)
	if err == nil || !strings.Contains(err.Error(), "is --time-layout right?") {
		t.Errorf("got %v, want a gap error", err)
	}
}

func runLines(t *testing.T, cfg LinesConfig) ([]string, error) {
	t.Helper()
	var c collect
	err := NewLines(cfg).Run(context.Background(), &c)
	return c.batches(), err
}

func TestEventTimeLines(t *testing.T) {
	dir := t.TempDir()
	lateFile := filepath.Join(dir, "late.txt")
	os.WriteFile(lateFile, []byte("earlier\n"), 0o644)
	cfg := LinesConfig{
		Common: testCommon(nil),
		Inputs: []Input{stringInput("a.csv", "ts,v\n100,a\n1200,b\n"), stringInput("b.csv", "ts,v\n50,late\n2500,c\n")},
		Line:   LineConfig{Format: FormatCSV, Header: true, TimeField: "ts"},
		Late:   lateFile,
	}
	got, err := runLines(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := "1000: 100,a\n2000: 1200,b\n3000: 2500,c"
	if s := strings.Join(got, "\n"); s != want {
		t.Errorf("got\n%s\nwant\n%s", s, want)
	}
	data, _ := os.ReadFile(lateFile)
	if string(data) != "earlier\n50,late\n" {
		t.Errorf("late file holds %q", data)
	}

	cfg.Late = ""
	cfg.Inputs = []Input{stringInput("a.csv", "ts,v\n100,a\n1200,b\n50,late\n")}
	_, err = runLines(t, cfg)
	want = "a.csv:4: late record at time 50: its batch 1000 was already emitted (the stream is at batch 2000) (raise --lateness, or give --late FILE to keep late records)"
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}

	cfg.Inputs = []Input{stringInput("a.csv", "ts,v\n100,a\nnoon,b\n")}
	_, err = runLines(t, cfg)
	want = `a.csv:3: event-time field ts is "noon": bad time, want epoch milliseconds`
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
}

func itoas(ns []int64) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.FormatInt(n, 10)
	}
	return strings.Join(s, ",")
}

// TestEventTimeRealtime checks --realtime: batch T goes out at
// start + (T - first T) of wall clock.
func TestEventTimeRealtime(t *testing.T) {
	clock := stage.NewFakeClock(time.UnixMilli(50_000))
	cfg := LinesConfig{
		Common:   testCommon(clock),
		Inputs:   []Input{stringInput("in", "100\n2500\n2600\n")},
		Line:     LineConfig{Format: FormatCSV, TimeField: "1"},
		Realtime: true,
	}
	var c collect
	c.ch = make(chan string, 8)
	done := make(chan error, 1)
	go func() { done <- NewLines(cfg).Run(context.Background(), &c) }()
	if got := <-c.ch; got != "1000: 100" {
		t.Fatalf("first batch %q", got)
	}
	for _, want := range []string{"2000:", "3000: 2500 2600"} {
		waitFor(func() bool { return clock.Waiters() == 1 })
		clock.Advance(999 * time.Millisecond)
		select {
		case got := <-c.ch:
			t.Fatalf("%q came early", got)
		case <-time.After(10 * time.Millisecond):
		}
		clock.Advance(time.Millisecond)
		if got := <-c.ch; got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
