package ops

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"dstream/lib/frame"
	"dstream/lib/stage"
)

func TestParseSliceTime(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want int64
		err  bool
	}{
		{"0", 0, false},
		{"1700000001000", 1700000001000, false},
		{"-1000", -1000, false},
		{"1970-01-01T00:00:02Z", 2000, false},
		{"2023-11-14T22:13:21Z", 1700000001000, false},
		{"2023-11-14T23:13:21+01:00", 1700000001000, false},
		{"2023-11-14T22:13:21.5Z", 1700000001500, false},
		{"2023-11-14T22:13:21.0009Z", 1700000001000, false}, // below a ms: floored
		{"2023-11-14 22:13:21", 0, true},
		{"2023-11-14T22:13:21", 0, true}, // no zone
		{"1.5", 0, true},
		{"", 0, true},
		{"3s", 0, true},
	} {
		got, err := parseSliceTime("FROM", tt.in)
		if tt.err {
			var ue *stage.UsageError
			if !errors.As(err, &ue) || !strings.HasPrefix(err.Error(), `FROM "`+tt.in+`": want ms since the epoch (like 1700000001000) or an RFC 3339 time`) {
				t.Errorf("%q: got %d, %v; want a usage error", tt.in, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%q: got %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
}

// rememberDir fills root/ID (ID is args' --id or remember) with the batches
// in, through remember D.
func rememberDir(t *testing.T, root string, in []*frame.Batch, args ...string) {
	t.Helper()
	r := newRememberAt(t, root, nil, args...)
	var out collect
	for _, b := range in {
		if err := r.Process(context.Background(), b, &out); err != nil {
			t.Fatal(err)
		}
	}
}

// runSlice runs slice with args and returns its output rendered, its log
// and its error (from New or Run).
func runSlice(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var logs bytes.Buffer
	st, err := stageAt(t, Slice, "", &logs, args...)
	if err != nil {
		return "", logs.String(), err
	}
	var out collect
	err = st.(stage.Source).Run(context.Background(), &out)
	return renderTimed(out), logs.String(), err
}

func TestSliceSelectsTheRange(t *testing.T) {
	root := t.TempDir()
	var in []*frame.Batch
	for i := int64(1); i <= 6; i++ {
		b := batch(i*1000, []string{string(rune('0' + i))}, []string{"p2"})
		if i == 3 {
			b.Partitions[0].Records = append(b.Partitions[0].Records, frame.Record{Value: []byte("three")})
			in = append(in, chunked(b)...)
			continue
		}
		if i == 5 {
			b = batch(5000)
		}
		in = append(in, b)
	}
	rememberDir(t, root, in, "1h")
	byTime := func(times ...int64) string {
		var bs []*frame.Batch
		for _, b := range in {
			for _, tm := range times {
				if b.Time == tm {
					bs = append(bs, b)
				}
			}
		}
		return renderTimed(bs)
	}
	for _, tt := range []struct {
		from, to string
		want     []int64
	}{
		// Spark BasicOperationsSuite "slice" (batches 1 to 4 at 1 s to 4 s).
		{"0", "1000", []int64{1000}},
		{"0", "2000", []int64{1000, 2000}},
		{"1000", "2000", []int64{1000, 2000}},
		{"2000", "4000", []int64{2000, 3000, 4000}},
		// PySpark test_slice, from the first batch's time: +0..+0, +1..+2, +1..+4, +0..+4.
		{"1000", "1000", []int64{1000}},
		{"2000", "3000", []int64{2000, 3000}},
		{"2000", "5000", []int64{2000, 3000, 4000, 5000}},
		{"1000", "5000", []int64{1000, 2000, 3000, 4000, 5000}},
		// Both ends floored to the batch interval.
		{"1500", "3999", []int64{1000, 2000, 3000}},
		{"1001", "1001", []int64{1000}},
		{"1999", "2001", []int64{1000, 2000}},
		{"6001", "9000", []int64{6000}},
		{"1970-01-01T00:00:02Z", "1970-01-01T00:00:03.5Z", []int64{2000, 3000}},
	} {
		got, logs, err := runSlice(t, tt.from, tt.to, root)
		if err != nil {
			t.Fatalf("slice %s %s: %v", tt.from, tt.to, err)
		}
		if want := byTime(tt.want...); got != want {
			t.Errorf("slice %s %s:\n%s\nwant\n%s", tt.from, tt.to, got, want)
		}
		if logs != "" {
			t.Errorf("slice %s %s logged %s", tt.from, tt.to, logs)
		}
	}
}

func TestSliceEmptyRangeWarns(t *testing.T) {
	root := t.TempDir()
	rememberDir(t, root, []*frame.Batch{batch(1000), batch(2000), batch(3000), batch(4000)}, "2s")
	for _, tt := range []struct{ from, to, log string }{
		{"1000", "2000", `level=WARN msg="no remembered batch in the range" from=1000 to=2000 kept=3000..4000 dir=` + filepath.Join(root, "remember") + "\n"},
		{"5000", "9000", `level=WARN msg="no remembered batch in the range" from=5000 to=9000 kept=3000..4000 dir=` + filepath.Join(root, "remember") + "\n"},
	} {
		got, logs, err := runSlice(t, tt.from, tt.to, root)
		if err != nil || got != "" || logs != tt.log {
			t.Errorf("slice %s %s: got %q, %v, log %q; want nothing and %q", tt.from, tt.to, got, err, logs, tt.log)
		}
	}
	empty := t.TempDir()
	rememberDir(t, empty, nil, "2s")
	if _, logs, err := runSlice(t, "0", "1000", empty); err != nil || !strings.Contains(logs, "kept=none") {
		t.Errorf("no batch kept yet: %v, log %q", err, logs)
	}
}

func TestSliceIgnoresBatchesOlderThanD(t *testing.T) {
	// Batches older than D whose files wait for a checkpoint to commit.
	root := t.TempDir()
	r := newRememberAt(t, root, nil, "2s")
	var out collect
	ctx := context.Background()
	for _, tm := range []int64{1000, 2000} {
		if err := r.Process(ctx, batch(tm, []string{"x"}), &out); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Barrier(ctx, frame.Barrier{ID: 1, Time: 2000}); err != nil {
		t.Fatal(err)
	}
	for _, tm := range []int64{3000, 4000} {
		if err := r.Process(ctx, batch(tm, []string{"x"}), &out); err != nil {
			t.Fatal(err)
		}
	}
	if got := names(dirFiles(t, r.dir.Path)); got != "batch-1000.frames batch-2000.frames batch-3000.frames batch-4000.frames" {
		t.Fatalf("directory holds %s", got)
	}
	got, logs, err := runSlice(t, "0", "9000", root)
	if want := renderTimed([]*frame.Batch{batch(3000, []string{"x"}), batch(4000, []string{"x"})}); err != nil || got != want {
		t.Errorf("got\n%s%v\nwant\n%s", got, err, want)
	}
	if _, logs, _ = runSlice(t, "1000", "2000", root); !strings.Contains(logs, "kept=3000..4000") {
		t.Errorf("log %q", logs)
	}
}

func TestSliceDirectories(t *testing.T) {
	root := t.TempDir()
	rememberDir(t, root, []*frame.Batch{batch(1000, []string{"a"})}, "3s")
	rememberDir(t, root, []*frame.Batch{batch(1000, []string{"b"})}, "--id", "other", "3s")
	a := renderTimed([]*frame.Batch{batch(1000, []string{"a"})})
	b := renderTimed([]*frame.Batch{batch(1000, []string{"b"})})
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"1000", "1000", root}, a},
		{[]string{"1000", "1000", filepath.Join(root, "remember")}, a},
		{[]string{"--id", "other", "1000", "1000", root}, b},
		{[]string{"--id", "remember", "1000", "1000", root}, a},
	} {
		got, _, err := runSlice(t, tt.args...)
		if err != nil || got != tt.want {
			t.Errorf("slice %v: got %s, %v; want %s", tt.args, got, err, tt.want)
		}
	}

	notDir := filepath.Join(root, "file")
	if err := os.WriteFile(notDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	badMeta := t.TempDir()
	if err := os.WriteFile(filepath.Join(badMeta, rememberMeta), []byte("dstream-remember 2 keep-ms 10\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"0", "1", filepath.Join(root, "missing")}, "checkpoint directory " + filepath.Join(root, "missing") + ": no such directory (want the --checkpoint DIR remember ran with)"},
		{[]string{"0", "1", notDir}, "checkpoint directory " + notDir + ": no such directory (want the --checkpoint DIR remember ran with)"},
		{[]string{"0", "1", t.TempDir() + "/"}, "is not a remember directory (no remember.meta): want the --checkpoint DIR remember ran with, and its --id if it had one"},
		// With --id given, DIR itself is not tried.
		{[]string{"--id", "nope", "0", "1", filepath.Join(root, "remember")}, filepath.Join(root, "remember", "nope") + " is not a remember directory"},
		{[]string{"0", "1", badMeta}, filepath.Join(badMeta, rememberMeta) + `: not a remember file of version 1 (want "dstream-remember 1 keep-ms N")`},
		{[]string{"2000", "1000", root}, "FROM 2000 is after TO 1000: want FROM <= TO"},
		{[]string{"1970-01-01T00:00:03Z", "2000", root}, "FROM 1970-01-01T00:00:03Z is after TO 2000: want FROM <= TO"},
		{[]string{"0", "soon", root}, `TO "soon": want ms since the epoch`},
	} {
		_, _, err := runSlice(t, tt.args...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("slice %v: got %v, want %q", tt.args, err, tt.want)
		}
	}
}

func TestSliceDamagedFiles(t *testing.T) {
	in := []*frame.Batch{batch(1000, []string{"a"}), batch(2000, []string{"b"}), batch(3000, []string{"c"})}
	good := func() (root, file string) {
		root = t.TempDir()
		rememberDir(t, root, in, "1h")
		return root, filepath.Join(root, "remember", "batch-2000.frames")
	}
	frameOf := func(bs ...*frame.Batch) []byte {
		var buf bytes.Buffer
		w := frame.NewWriter(&buf, frame.CodecNone, 0)
		for _, b := range bs {
			if err := w.WriteBatch(b); err != nil {
				t.Fatal(err)
			}
		}
		return buf.Bytes()
	}
	more := batch(2000, []string{"b"})
	more.More = true
	other := batch(2000, []string{"b"})
	other.Interval = 2000
	for _, tt := range []struct {
		name   string
		damage func(file string, data []byte) []byte
		want   string
	}{
		{"flipped byte", func(_ string, d []byte) []byte { d[len(d)-1] ^= 0xff; return d },
			": frame checksum mismatch (corrupt frame) (frame 0 at byte offset 0)"},
		{"truncated", func(_ string, d []byte) []byte { return d[:len(d)-2] },
			": stream ends inside a frame: "},
		{"second frame torn", func(_ string, d []byte) []byte {
			return append(frameOf(more), frameOf(batch(2000))[:20]...)
		}, ": stream ends inside a frame: 8 of 18 payload bytes (frame 1 at byte offset 36)"},
		{"empty", func(string, []byte) []byte { return nil }, " holds no batch (an empty file; remember writes at least one frame)"},
		{"last chunk missing", func(string, []byte) []byte { return frameOf(more) }, " ends inside batch 2000 at byte offset 36: its last chunk is missing"},
		{"wrong time", func(string, []byte) []byte { return frameOf(batch(2500)) }, ": batch 2500 at byte offset 0, in the file of batch 2000"},
		{"two batches", func(string, []byte) []byte { return frameOf(batch(2000), batch(2000)) }, ": frame at byte offset 30 after the last chunk of batch 2000"},
		{"interval", func(string, []byte) []byte { return frameOf(other) }, "batch 2000 has an interval of 2000 ms, but the batches before it ("},
		{"text", func(string, []byte) []byte { return []byte("plain text, not frames\n") }, `: not a dstream frame (bad magic): got "pl", want "DS" (frame 0 at byte offset 0)`},
	} {
		root, file := good()
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, tt.damage(file, data), 0o600); err != nil {
			t.Fatal(err)
		}
		got, _, err := runSlice(t, "0", "9000", root)
		if err == nil || !strings.HasPrefix(err.Error(), file) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: got %v, want an error naming %s with %q", tt.name, err, file, tt.want)
		}
		// What came before the damaged file was emitted.
		if !strings.HasPrefix(got, "1000/1000\na\n--\n") {
			t.Errorf("%s: output %q", tt.name, got)
		}
	}
}

func TestSliceStopsOnCancel(t *testing.T) {
	root := t.TempDir()
	rememberDir(t, root, []*frame.Batch{batch(1000), batch(2000)}, "1h")
	st, err := stageAt(t, Slice, "", nil, "0", "9000", root)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out collect
	if err := st.(stage.Source).Run(ctx, &out); !errors.Is(err, context.Canceled) || len(out) != 0 {
		t.Errorf("got %v and %d batches", err, len(out))
	}
}

// slice reads while remember writes and deletes: it sees whole batches
// only (files are renamed into place whole), and a batch deleted under it
// is skipped, never an error.
func TestSliceWhileRememberWrites(t *testing.T) {
	root := t.TempDir()
	r := newRememberAt(t, root, nil, "3s")
	content := func(tm int64) *frame.Batch {
		return batch(tm, []string{fmt.Sprintf("first %d", tm), fmt.Sprintf("second %d", tm)}, []string{fmt.Sprintf("third %d", tm)})
	}
	// One batch first, so that slice finds remember.meta and a file.
	var out collect
	if err := r.Process(context.Background(), content(1000), &out); err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() {
		var out collect
		for i := int64(2); i <= 300; i++ {
			for _, c := range chunked(content(i * 1000)) {
				if err := r.Process(context.Background(), c, &out); err != nil {
					done <- err
					return
				}
			}
			out = out[:0]
		}
		done <- nil
	}()
	for running := true; running; {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			running = false
		default:
		}
		var seen []*frame.Batch
		st, err := stageAt(t, Slice, "", nil, "0", "999999", root)
		if err != nil {
			t.Fatal(err)
		}
		var bs collect
		if err := st.(stage.Source).Run(context.Background(), &bs); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < len(bs); i++ {
			whole := bs[i]
			if whole.More {
				if i+1 == len(bs) || bs[i+1].Time != whole.Time || bs[i+1].More {
					t.Fatalf("batch %d without its last chunk", whole.Time)
				}
				next := bs[i+1]
				joined := &frame.Batch{Time: whole.Time, Interval: whole.Interval, Partitions: make([]frame.Partition, len(whole.Partitions))}
				for p := range joined.Partitions {
					joined.Partitions[p].Records = append(append([]frame.Record{}, whole.Partitions[p].Records...), next.Partitions[p].Records...)
				}
				whole = joined
				i++
			}
			if got, want := renderTimed([]*frame.Batch{whole}), renderTimed([]*frame.Batch{content(whole.Time)}); got != want {
				t.Fatalf("torn batch:\n%s\nwant\n%s", got, want)
			}
			seen = append(seen, whole)
		}
		if len(seen) > 3 {
			t.Fatalf("slice saw %d batches, more than the last 3 s", len(seen))
		}
	}
}
