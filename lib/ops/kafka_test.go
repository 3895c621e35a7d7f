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

// startTopic starts a test broker with topic t of parts partitions and
// returns its address.
func startTopic(t *testing.T, parts int32) string {
	t.Helper()
	c, err := kafkatest.Start(kafkatest.Config{Topics: []kafkatest.Topic{{Name: "t", Partitions: parts}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()[0]
}

// TestKafkaSinkProduce writes two batches with sink --kafka, with a
// barrier between them, and reads them back with produce --kafka.
func TestKafkaSinkProduce(t *testing.T) {
	addr := startTopic(t, 2)

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

// TestKafkaSinkByKey: sink --by-key fails (exit 1) on an unkeyed record,
// having written the batches before its own and nothing of it; without
// --kafka --by-key is a usage error (exit 2).
func TestKafkaSinkByKey(t *testing.T) {
	addr := startTopic(t, 1)

	var in bytes.Buffer
	w := frame.NewWriter(&in, frame.CodecNone, frame.DefaultMaxSize)
	for i, recs := range [][]frame.Record{
		{{Key: []byte("a"), Value: []byte("1"), Keyed: true}},
		{{Key: []byte("b"), Value: []byte("2"), Keyed: true}, {Value: []byte("unkeyed")}},
	} {
		if err := w.WriteBatch(&frame.Batch{Time: int64(i+1) * 1000, Interval: 1000, Partitions: []frame.Partition{{Records: recs}}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.WriteEOS(); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (int, string) {
		var out, errs bytes.Buffer
		code := stage.Run(Sink, append([]string{"sink"}, args...), stage.IO{
			Stdin: &in, Stdout: &out, Stderr: &errs, Signals: make(chan os.Signal), Clock: stage.RealClock{},
		})
		return code, errs.String()
	}
	code, errs := run("--kafka", addr, "--topic", "t", "--by-key")
	if want := "sink: batch 2000: record 1 has no key (--by-key wants keyed records; use keyby first)\n"; code != 1 || errs != want {
		t.Errorf("unkeyed: exit %d, stderr %q; want 1, %q", code, errs, want)
	}
	code, frames, errs := runProduce(t, "", "--batch", "1h", "--kafka", addr, "--topic", "t", "--until-caught-up")
	if want := "3600000/3600000: 1 EOS"; code != 0 || strings.Join(frames, " ") != want {
		t.Errorf("produce: exit %d, frames %q, want %q: %s", code, frames, want, errs)
	}

	code, errs = run("--by-key")
	if want := "sink: --by-key applies to --kafka only\n"; code != 2 || errs != want {
		t.Errorf("no --kafka: exit %d, stderr %q; want 2, %q", code, errs, want)
	}
}
