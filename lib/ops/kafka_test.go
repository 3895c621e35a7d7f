package ops

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"dstream/internal/kafkatest"
	"dstream/lib/frame"
	"dstream/lib/stage"
)

// TestKafkaSinkProduce writes two batches with sink --kafka, with a
// barrier between them, and reads them back with produce --kafka.
func TestKafkaSinkProduce(t *testing.T) {
	c, err := kafkatest.Start(kafkatest.Config{Topics: []kafkatest.Topic{{Name: "t", Partitions: 2}}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	addr := c.ListenAddrs()[0]

	var in bytes.Buffer
	w := frame.NewWriter(&in, frame.CodecNone, frame.DefaultMaxSize)
	for i, vals := range [][]string{{"a", "b"}, {"c"}} {
		var recs []frame.Record
		for _, v := range vals {
			recs = append(recs, frame.Record{Key: []byte("k" + v), Value: []byte(v), Keyed: true})
		}
		if err := w.WriteBatch(&frame.Batch{Time: int64(i+1) * 1000, Interval: 1000, Partitions: []frame.Partition{{Records: recs}}}); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			if err := w.WriteBarrier(frame.Barrier{ID: 1, Time: 1000}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.WriteEOS(); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	code := stage.Run(Sink, []string{"sink", "--kafka", addr, "--topic", "t", "--compression", "zstd"}, stage.IO{
		Stdin: &in, Stdout: &stderr, Stderr: &stderr, Signals: make(chan os.Signal), Clock: stage.RealClock{},
	})
	if code != 0 {
		t.Fatalf("sink: exit %d: %s", code, stderr.String())
	}

	code, frames, errs := runProduce(t, "", "--batch", "1h", "--kafka", addr, "--topic", "t", "--until-caught-up")
	// One batch, grouped by partition (murmur2: kb in 0, ka and kc in 1).
	want := "3600000/3600000: b a c EOS"
	if got := strings.Join(frames, " "); code != 0 || got != want {
		t.Errorf("produce: exit %d, frames %q, want %q: %s", code, got, want, errs)
	}
}
