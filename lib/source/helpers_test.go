package source

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"dstream/lib/frame"
	"dstream/lib/stage"
)

// collect is an Emitter that keeps each batch as text:
// "T: a b | c" (partitions separated by " | ", keyed records as KEY=VALUE).
type collect struct {
	mu  sync.Mutex
	got []string
	ch  chan string // when set, gets every batch too
}

func (c *collect) Emit(b *frame.Batch) error {
	var sb strings.Builder
	fmt.Fprintf(&sb, "%d:", b.Time)
	if b.More {
		sb.WriteString(" (more)")
	}
	for i, p := range b.Partitions {
		if i > 0 {
			sb.WriteString(" |")
		}
		for _, r := range p.Records {
			sb.WriteByte(' ')
			if r.Keyed {
				fmt.Fprintf(&sb, "%s=", r.Key)
			}
			sb.Write(r.Value)
		}
	}
	c.mu.Lock()
	c.got = append(c.got, sb.String())
	c.mu.Unlock()
	if c.ch != nil {
		c.ch <- sb.String()
	}
	return nil
}

func (c *collect) batches() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.got...)
}

var epoch = time.UnixMilli(0)

func testCommon(clock stage.Clock) Common {
	if clock == nil {
		clock = stage.NewFakeClock(epoch)
	}
	return Common{Interval: 1000, Partitions: 1, MaxFrame: frame.DefaultMaxSize, Clock: clock,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

// readerInput is an Input over a string or reader.
func readerInput(name string, r io.Reader) Input {
	return Input{Name: name, Open: func() (io.ReadCloser, error) { return io.NopCloser(r), nil }}
}

func stringInput(name, s string) Input { return readerInput(name, strings.NewReader(s)) }

// waitFor polls until cond holds (for goroutines blocking on a FakeClock).
func waitFor(cond func() bool) {
	for !cond() {
		time.Sleep(time.Millisecond)
	}
}
