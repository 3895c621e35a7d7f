package ops

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"dstream/lib/checkpoint"
	"dstream/lib/frame"
	"dstream/lib/stage"
)

// renderWindows renders batches one per line, "T/I: a b | c" with keyed records
// as k=v, "|" between partitions and "+" after a chunk with More.
func renderWindows(bs []*frame.Batch) string {
	var b strings.Builder
	for _, bt := range bs {
		fmt.Fprintf(&b, "%d/%d:", bt.Time, bt.Interval)
		for pi, p := range bt.Partitions {
			if pi > 0 {
				b.WriteString(" |")
			}
			for _, r := range p.Records {
				b.WriteString(" ")
				if r.Keyed {
					b.WriteString(string(r.Key) + "=")
				}
				b.WriteString(string(r.Value))
			}
		}
		if bt.More {
			b.WriteString(" +")
		}
		b.WriteString("\n")
	}
	return b.String()
}

// windowInput makes one batch per argument at times 1000, 2000, ...; an
// argument's records are separated by spaces, "k=v" for a keyed record;
// "" is an empty batch.
func windowInput(interval int64, recs ...string) []*frame.Batch {
	var bs []*frame.Batch
	for i, s := range recs {
		b := &frame.Batch{Time: int64(i+1) * interval, Interval: interval, Partitions: []frame.Partition{{}}}
		for _, f := range strings.Fields(s) {
			if k, v, ok := strings.Cut(f, "="); ok {
				b.Partitions[0].Records = append(b.Partitions[0].Records, frame.Record{Key: []byte(k), Value: []byte(v), Keyed: true})
			} else {
				b.Partitions[0].Records = append(b.Partitions[0].Records, frame.Record{Value: []byte(f)})
			}
		}
		bs = append(bs, b)
	}
	return bs
}

// windowChunks splits every batch of bs into chunks of at most n records per
// partition, all but the last with More.
func windowChunks(bs []*frame.Batch, n int) []*frame.Batch {
	var out []*frame.Batch
	for _, b := range bs {
		longest := 0
		for _, p := range b.Partitions {
			longest = max(longest, len(p.Records))
		}
		for start := 0; ; start += n {
			c := &frame.Batch{Time: b.Time, Interval: b.Interval, Partitions: make([]frame.Partition, len(b.Partitions))}
			for i, p := range b.Partitions {
				if start < len(p.Records) {
					c.Partitions[i].Records = p.Records[start:min(start+n, len(p.Records))]
				}
			}
			c.More = start+n < longest
			out = append(out, c)
			if !c.More {
				break
			}
		}
	}
	return out
}

// runWindowed runs in through spec's stage and renders the output by
// renderWindows; a stage error is returned as the result.
func runWindowed(t *testing.T, spec *stage.Spec, args []string, in []*frame.Batch) string {
	t.Helper()
	st := newStage(t, spec, nil, args...)
	var out collect
	ctx := context.Background()
	for _, b := range in {
		if err := st.(stage.Operator).Process(ctx, b, &out); err != nil {
			return renderWindows(out) + "error: " + err.Error()
		}
	}
	if err := st.(stage.Finisher).Finish(ctx, &out); err != nil {
		return renderWindows(out) + "error: " + err.Error()
	}
	return renderWindows(out)
}

func outLines(s ...string) string { return strings.Join(s, "\n") + "\n" }

func TestParseWindowArg(t *testing.T) {
	good := []struct {
		in   string
		want windowArg
	}{
		{"3s/2s", windowArg{3000, 2000}}, {"1500ms/500ms", windowArg{1500, 500}},
		{"1m/10s", windowArg{60000, 10000}}, {"2s", windowArg{2000, 0}}, {"2s/3s", windowArg{2000, 3000}},
	}
	for _, tt := range good {
		got, err := parseWindowArg(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("parseWindowArg(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	bad := []struct{ in, want string }{
		{"3x/2s", `window "3x" in "3x/2s": want a Go duration like 3s, 1500ms or 1m (the argument is WINDOW or WINDOW/SLIDE)`},
		{"3s/", `slide "" in "3s/": want a Go duration like 3s, 1500ms or 1m (the argument is WINDOW or WINDOW/SLIDE)`},
		{"0s/1s", `window 0s in "0s/1s": want a positive duration`},
		{"2s/-1s", `slide -1s in "2s/-1s": want a positive duration`},
		{"1500us", `window 1500us in "1500us": want whole milliseconds (batch times are in ms)`},
		{"3", `window "3" in "3": want a Go duration like 3s, 1500ms or 1m (the argument is WINDOW or WINDOW/SLIDE)`},
	}
	for _, tt := range bad {
		_, err := parseWindowArg(tt.in)
		if err == nil || err.Error() != tt.want {
			t.Errorf("parseWindowArg(%q): got %v, want %s", tt.in, err, tt.want)
		}
		if _, ok := err.(*stage.UsageError); !ok {
			t.Errorf("parseWindowArg(%q): %T is not a usage error", tt.in, err)
		}
	}
}

func TestWindowFirstFrameCheck(t *testing.T) {
	tests := []struct {
		args     []string
		interval int64
		want     string
	}{
		{[]string{"3s/2s"}, 2000, "error: batch 2000: window 3s and slide 2s must be multiples of the batch interval 2s (the window and slide intervals must be multiples of the batch timing)"},
		{[]string{"4s/3s"}, 2000, "error: batch 2000: window 4s and slide 3s must be multiples of the batch interval 2s (the window and slide intervals must be multiples of the batch timing)"},
		{[]string{"1500ms"}, 1000, "error: batch 1000: window 1500ms and slide 1s (one batch) must be multiples of the batch interval 1s (the window and slide intervals must be multiples of the batch timing)"},
		{[]string{"2s/1s"}, 0, "error: batch 0 has interval 0ms (a window needs a positive batch interval)"},
	}
	for _, tt := range tests {
		in := windowInput(tt.interval, "a")
		if got := runWindowed(t, Window, tt.args, in); got != tt.want {
			t.Errorf("window %v over %dms batches:\n got %s\nwant %s", tt.args, tt.interval, got, tt.want)
		}
	}
	// The interval must not change, and times must increase.
	in := windowInput(1000, "a", "b")
	in[1].Interval = 500
	want := "1000/1000: a\nerror: batch 2000 has interval 500ms after batches of 1s (a window needs one batch interval)"
	if got := runWindowed(t, Window, []string{"2s/1s"}, in); got != want {
		t.Errorf("interval change:\n got %s\nwant %s", got, want)
	}
	in = windowInput(1000, "a", "b")
	in[1].Time = 1000
	want = "1000/1000: a\nerror: batch 1000 came after batch 1000 (batch times must increase)"
	if got := runWindowed(t, Window, []string{"2s/1s"}, in); got != want {
		t.Errorf("time repeated:\n got %s\nwant %s", got, want)
	}
}

// The clock: outputs at multiples of S from the first at or after the
// first batch, windows (T-W, T], skipped times filled in, drain at EOS.
func TestWindowClock(t *testing.T) {
	// Batches at 1500, 2500, 3500 (produce --start 500); slide 2s: outputs
	// at 2000 (holding 1500), 4000 (2500, 3500), then the drain.
	in := windowInput(1000, "a", "b", "c")
	for i, b := range in {
		b.Time = int64(i)*1000 + 1500
	}
	want := outLines("2000/2000: a", "4000/2000: b c")
	if got := runWindowed(t, Window, []string{"2s/2s"}, in); got != want {
		t.Errorf("unaligned batches:\n got %s\nwant %s", got, want)
	}
	// A gap: batch 5000 after 2000; outputs 3000 and 4000 go out when 5000
	// comes, holding what their windows hold.
	in = windowInput(1000, "a", "b")
	in = append(in, &frame.Batch{Time: 5000, Interval: 1000, Partitions: []frame.Partition{{Records: []frame.Record{{Value: []byte("e")}}}}})
	want = outLines("1000/1000: a", "2000/1000: a b", "3000/1000: b", "4000/1000:", "5000/1000: e", "6000/1000: e")
	if got := runWindowed(t, Window, []string{"2s/1s"}, in); got != want {
		t.Errorf("a gap in the input:\n got %s\nwant %s", got, want)
	}
	// No batch: no output at all.
	if got := runWindowed(t, Window, []string{"2s/1s"}, nil); got != "" {
		t.Errorf("no input: got %q", got)
	}
	// The drain stops at the first window without records, even when
	// the window still holds empty batches.
	want = outLines("1000/1000: a", "2000/1000: a", "3000/1000:")
	if got := runWindowed(t, Window, []string{"2s/1s"}, windowInput(1000, "a", "", "")); got != want {
		t.Errorf("drain past empty batches:\n got %s\nwant %s", got, want)
	}
}

func TestWindowRestoreChecks(t *testing.T) {
	st := newStage(t, Window, nil, "2s/1s")
	runStateful(t, st, windowInput(1000, "a b", "c"), false)
	var snap bytes.Buffer
	if err := st.(stage.Snapshotter).Snapshot(&snap); err != nil {
		t.Fatal(err)
	}
	other := newStage(t, Window, nil, "3s/1s").(stage.Snapshotter)
	err := other.Restore(bytes.NewReader(snap.Bytes()))
	if want := "the checkpoint holds windows of 2s/1s, not of 3s/1s (restart with the same window, or with --reset-state)"; err == nil || err.Error() != want {
		t.Errorf("restore with another window: got %v, want %s", err, want)
	}
	// Every byte flipped, and every cut, is an error or the same state,
	// never a panic.
	for i := range snap.Len() {
		b := bytes.Clone(snap.Bytes())
		b[i] ^= 0xff
		newStage(t, Window, nil, "2s/1s").(stage.Snapshotter).Restore(bytes.NewReader(b))
		if err := newStage(t, Window, nil, "2s/1s").(stage.Snapshotter).Restore(bytes.NewReader(snap.Bytes()[:i])); err == nil {
			t.Errorf("restore of the first %d of %d bytes: no error", i, snap.Len())
		}
	}
	extra := append(bytes.Clone(snap.Bytes()), 0)
	if err := newStage(t, Window, nil, "2s/1s").(stage.Snapshotter).Restore(bytes.NewReader(extra)); err == nil {
		t.Errorf("restore with a byte too many: no error")
	}
}

// A restart through the runtime: a run stopped after checkpoint 1 (taken
// at a BARRIER after batch 3, then committed as a sink would) and a second
// run from there give what one uninterrupted run gives.
func TestWindowedCheckpointThroughRuntime(t *testing.T) {
	in := windowInput(1000, "a=1 b=2", "a=3", "c=4", "a=5", "", "b=6", "a=7")
	for _, tc := range []struct {
		spec *stage.Spec
		args []string
	}{
		{ReduceByKeyAndWindow, []string{"3s/2s", "sum"}},
		{ReduceByKeyAndWindow, []string{"--expr", "a + b", "3s/1s"}},
		{GroupByKeyAndWindow, []string{"2s"}},
		{CountByValueAndWindow, []string{"4s/2s"}},
		{ReduceByWindow, []string{"3s/1s", "max"}},
		{CountByWindow, []string{"2s/2s"}},
		{Window, []string{"3s/2s"}},
	} {
		dir := t.TempDir()
		ck := append([]string{"--checkpoint", dir}, tc.args...)
		want := runThroughRuntime(t, tc.spec, append([]string{"--ephemeral"}, tc.args...), in, -1, frame.TypeEOS)
		got := runThroughRuntime(t, tc.spec, ck, in[:3], 3, frame.TypeStop)
		d, err := checkpoint.Open(dir, tc.spec.Name)
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Commit(1); err != nil {
			t.Fatal(err)
		}
		got += runThroughRuntime(t, tc.spec, ck, in[3:], -1, frame.TypeEOS)
		if got != want {
			t.Errorf("%s %v: restarted run gave\n%s\nwant\n%s", tc.spec.Name, tc.args, got, want)
		}
	}
}

// runThroughRuntime runs spec's stage with stage.Run on the frames of in,
// with BARRIER 1 after the first barrierAfter batches (none if -1) and
// last at the end, and renders the batches it writes.
func runThroughRuntime(t *testing.T, spec *stage.Spec, args []string, in []*frame.Batch, barrierAfter int, last frame.Type) string {
	t.Helper()
	var input bytes.Buffer
	fw := frame.NewWriter(&input, frame.CodecNone, 0)
	for i, b := range in {
		if err := fw.WriteBatch(b); err != nil {
			t.Fatal(err)
		}
		if i+1 == barrierAfter {
			if err := fw.WriteBarrier(frame.Barrier{ID: 1, Time: b.Time}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if last == frame.TypeEOS {
		fw.WriteEOS()
	} else {
		fw.WriteStop()
	}
	var out, errs bytes.Buffer
	code := stage.Run(spec, append([]string{spec.Name}, args...), stage.IO{
		Stdin: &input, Stdout: &out, Stderr: &errs, Signals: make(chan os.Signal), Clock: stage.RealClock{},
	})
	if code != 0 {
		t.Fatalf("%s %v: exit %d: %s", spec.Name, args, code, errs.String())
	}
	var got collect
	fr := frame.NewReader(&out, 0)
	for {
		f, err := fr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if f.Type == frame.TypeBatch {
			got = append(got, f.Batch.Clone())
		}
	}
	return renderWindows(got)
}

// Barriers come between whole batches; a snapshot in the middle of one
// would lose its first chunks, so it is refused.
func TestWindowSnapshotMidBatch(t *testing.T) {
	st := newStage(t, Window, nil, "2s/1s")
	in := windowChunks(windowInput(1000, "a b c"), 1)
	runStateful(t, st, in[:1], false)
	var snap bytes.Buffer
	err := st.(stage.Snapshotter).Snapshot(&snap)
	if want := "checkpoint in the middle of batch 1000 (barriers come between whole batches)"; err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}
