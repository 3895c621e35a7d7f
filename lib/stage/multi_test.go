package stage

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"dstream/lib/frame"
)

// zipOp is the test MultiOperator: for each batch time it emits one batch
// holding "I:V" for every record V of input I, in input order. Its state
// (checkpointed) is the number of aligned batches seen.
type zipOp struct {
	inputs []string
	n      int
}

func (z *zipOp) Inputs() []string { return z.inputs }

func (z *zipOp) ProcessAligned(_ context.Context, bs []*frame.Batch, out Emitter) error {
	z.n++
	var vals []string
	for i, b := range bs {
		if b.Time != bs[0].Time || b.More {
			return fmt.Errorf("unaligned: %d vs %d, more %v", b.Time, bs[0].Time, b.More)
		}
		for _, p := range b.Partitions {
			for _, r := range p.Records {
				vals = append(vals, fmt.Sprintf("%d:%s", i, r.Value))
			}
		}
	}
	return out.Emit(batch(bs[0].Time, vals...))
}

func (z *zipOp) Snapshot(w io.Writer) error { _, err := fmt.Fprint(w, z.n); return err }

func (z *zipOp) Restore(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err == nil {
		z.n, err = strconv.Atoi(string(b))
	}
	return err
}

var zipSpec = &Spec{
	Name: "zip", ArgsUsage: "OTHER...", MinArgs: 1, MaxArgs: -1, Kind: KindMulti,
	New: func(c *Context) (any, error) { return &zipOp{inputs: c.Args().Slice()}, nil },
}

// writeFile writes a stream of frames to a file in dir and returns its path.
func writeFile(t *testing.T, dir, name string, items ...any) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, frames(t, items...), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestMultiAligned(t *testing.T) {
	dir := t.TempDir()
	b := writeFile(t, dir, "b", batch(1000, "b1", "b2"), batch(2000), "EOS")
	c := writeFile(t, dir, "c", batch(1000, "c1"), batch(2000, "c2"), "EOS")
	res := run(t, zipSpec, frames(t, batch(1000, "a1"), batch(2000, "a2"), "EOS"), b, c)
	want := "BATCH 1000 0:a1 1:b1 1:b2 2:c1\nBATCH 2000 0:a2 2:c2\nEOS"
	if got := describe(res.stdout); res.code != ExitOK || got != want || res.stderr != "" {
		t.Fatalf("exit %d, stdout\n%s\nstderr %s", res.code, got, res.stderr)
	}
}

func TestMultiChunks(t *testing.T) {
	dir := t.TempDir()
	c1, c2 := batch(1000, "b1"), batch(1000, "b2")
	c1.More = true
	b := writeFile(t, dir, "b", c1, c2, "EOS")
	s1, s2 := batch(1000, "a1"), batch(1000, "a2")
	s1.More = true
	res := run(t, zipSpec, frames(t, s1, s2, "EOS"), b)
	if got := describe(res.stdout); res.code != ExitOK || got != "BATCH 1000 0:a1 0:a2 1:b1 1:b2\nEOS" {
		t.Fatalf("exit %d, stdout\n%s\nstderr %s", res.code, got, res.stderr)
	}
	// A chunk left open is the upstream's error.
	b = writeFile(t, dir, "open", c1, "EOS")
	res = run(t, zipSpec, frames(t, batch(1000, "a"), "EOS"), b)
	if res.code != ExitRuntime || res.stderr != "zip: "+b+": batch 1000 ended without its last chunk: EOS came next (the upstream stage broke the chunk protocol)\n" {
		t.Fatalf("exit %d, stderr %q", res.code, res.stderr)
	}
}

func TestMultiErrors(t *testing.T) {
	dir := t.TempDir()
	half := func(tm int64, v ...string) *frame.Batch {
		b := batch(tm, v...)
		b.Interval = 500
		return b
	}
	for _, tc := range []struct {
		name        string
		stdin, file []any
		want        string
	}{
		{"interval", []any{batch(1000, "a"), "EOS"}, []any{half(1000, "b"), "EOS"},
			"zip: batch intervals differ: stdin's batch 1000 has an interval of 1000ms, F's batch 1000 one of 500ms (every input must have the same batch interval)"},
		{"gap", []any{batch(1000), batch(2000), "EOS"}, []any{batch(1000), batch(3000), "EOS"},
			"zip: batch times differ: stdin's next batch is 2000, F's is 3000 (every input must deliver every batch time, as dstream's sources do)"},
		{"no EOS", []any{batch(1000), "EOS"}, []any{batch(1000)},
			"zip: F ended without EOS or STOP: the stage writing it stopped early (see its error)"},
		{"barrier vs batch", []any{batch(1000), frame.Barrier{ID: 1, Time: 1000}, batch(2000), "EOS"}, []any{batch(1000), batch(2000), "EOS"},
			"zip: checkpoint barriers not aligned: stdin sent BARRIER 1 (after batch 1000), but F went on with batch 2000 (the inputs need their barriers after the same batches: feed them from one source, or give their sources the same --checkpoint-every)"},
		{"barriers differ", []any{frame.Barrier{ID: 1, Time: 1000}, "EOS"}, []any{frame.Barrier{ID: 2, Time: 1000}, "EOS"},
			"zip: checkpoint barriers differ: stdin sent BARRIER 1 (after batch 1000), F sent BARRIER 2 (after batch 1000) (the inputs need the same barriers: feed them from one source, or give their sources the same --checkpoint-every)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := writeFile(t, dir, strings.ReplaceAll(tc.name, " ", "-"), tc.file...)
			res := run(t, zipSpec, frames(t, tc.stdin...), f)
			if want := strings.ReplaceAll(tc.want, "F", f) + "\n"; res.code != ExitRuntime || res.stderr != want {
				t.Fatalf("exit %d, stderr\n%q, want\n%q", res.code, res.stderr, want)
			}
		})
	}
	res := run(t, zipSpec, nil, filepath.Join(dir, "missing"))
	if want := "zip: open " + filepath.Join(dir, "missing") + ": no such file or directory\n"; res.code != ExitRuntime || res.stderr != want {
		t.Fatalf("exit %d, stderr %q", res.code, res.stderr)
	}
	res = run(t, zipSpec, nil, "--max-skew", "0", "x")
	if want := "zip: --max-skew 0: want a whole number of batches, 1 or more\n"; res.code != ExitUsage || res.stderr != want {
		t.Fatalf("exit %d, stderr %q", res.code, res.stderr)
	}
}

func TestMultiLateStart(t *testing.T) {
	// The other input's source started one batch later: it counts as
	// empty at 1000. After its first batch a gap would be an error.
	b := writeFile(t, t.TempDir(), "b", batch(2000, "b2"), "EOS")
	res := run(t, zipSpec, frames(t, batch(1000, "a1"), batch(2000, "a2"), "EOS"), b)
	if got := describe(res.stdout); res.code != ExitOK || got != "BATCH 1000 0:a1\nBATCH 2000 0:a2 1:b2\nEOS" {
		t.Fatalf("exit %d, stdout\n%s\nstderr %s", res.code, got, res.stderr)
	}
	if !strings.Contains(res.stderr, `msg="an input starts later than another: it counts as empty before its first batch" stage=zip input=`+b+" first_batch=2000 from=1000") {
		t.Errorf("stderr %q", res.stderr)
	}
}

func TestMultiEarlyEOS(t *testing.T) {
	dir := t.TempDir()
	b := writeFile(t, dir, "b", batch(1000, "b1"), "EOS")
	res := run(t, zipSpec, frames(t, batch(1000, "a1"), batch(2000, "a2"), batch(3000, "a3"), "EOS"), b)
	if got := describe(res.stdout); res.code != ExitOK || got != "BATCH 1000 0:a1 1:b1\nEOS" {
		t.Fatalf("exit %d, stdout\n%s\nstderr %s", res.code, got, res.stderr)
	}
	if !strings.Contains(res.stderr, `level=WARN msg="an input ended before the others: the output ends here, at EOS, and the other inputs' later batches are dropped" stage=zip ended=`+b+` input0="stdin: `) {
		t.Errorf("stderr %q", res.stderr)
	}
	// stdin ends first.
	b = writeFile(t, dir, "b2", batch(1000, "b1"), batch(2000, "b2"), "EOS")
	res = run(t, zipSpec, frames(t, batch(1000, "a1"), "EOS"), b)
	if got := describe(res.stdout); res.code != ExitOK || got != "BATCH 1000 0:a1 1:b1\nEOS" {
		t.Fatalf("exit %d, stdout\n%s\nstderr %s", res.code, got, res.stderr)
	}
	if !strings.Contains(res.stderr, "ended=stdin input1=\""+b+": ") {
		t.Errorf("stderr %q", res.stderr)
	}
}

func TestMultiStop(t *testing.T) {
	b := writeFile(t, t.TempDir(), "b", batch(1000, "b1"), "STOP")
	res := run(t, zipSpec, frames(t, batch(1000, "a1"), batch(2000, "a2"), "EOS"), b)
	if got := describe(res.stdout); res.code != ExitOK || got != "BATCH 1000 0:a1 1:b1\nSTOP" {
		t.Fatalf("exit %d, stdout\n%s\nstderr %s", res.code, got, res.stderr)
	}
}

func TestMultiBarrier(t *testing.T) {
	dir := t.TempDir()
	ck := filepath.Join(dir, "ck")
	b := writeFile(t, dir, "b", batch(1000, "b1"), frame.Barrier{ID: 1, Time: 1000}, batch(2000), "EOS")
	res := run(t, zipSpec, frames(t, batch(1000, "a1"), frame.Barrier{ID: 1, Time: 1000}, batch(2000, "a2"), "EOS"), "--checkpoint", ck, b)
	if got := describe(res.stdout); res.code != ExitOK || got != "BATCH 1000 0:a1 1:b1\nBARRIER 1 1000\nBATCH 2000 0:a2\nEOS" {
		t.Fatalf("exit %d, stdout\n%s\nstderr %s", res.code, got, res.stderr)
	}
	if snap := readState(t, filepath.Join(ck, "zip", "snapshot-1")); snap != "1" {
		t.Fatalf("snapshot %q", snap)
	}
}

// countingReader counts the bytes read from it.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// TestMultiSkewFIFO: stdin has 40 batches ready, the other input (a named
// pipe) none yet. stdin is read --max-skew batches ahead (and a few in the
// runtime's hands and buffers), then blocked; once the pipe delivers, every
// batch is joined.
func TestMultiSkewFIFO(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip("mkfifo:", err)
	}
	big := strings.Repeat("x", 1<<20) // a batch fills the reader's 1 MiB buffer
	const n = 40
	var items []any
	for i := 1; i <= n; i++ {
		items = append(items, batch(int64(i)*1000, big))
	}
	in := &countingReader{r: bytes.NewReader(frames(t, append(items, "EOS")...))}
	var stdout, stderr bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- Run(zipSpec, []string{"zip", "--max-skew", "2", fifo}, IO{
			Stdin: in, Stdout: &stdout, Stderr: &stderr, Clock: NewFakeClock(time.Unix(0, 0)),
		})
	}()
	// Wait until stdin's reading stops.
	last := int64(-1)
	for in.n.Load() != last {
		last = in.n.Load()
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("stdin read ahead: %d batches", last>>20)
	if batches := last >> 20; batches > 2+3 {
		t.Errorf("stdin read %d batches ahead with --max-skew 2", batches)
	}
	w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	var other []any
	for i := 1; i <= n; i++ {
		other = append(other, batch(int64(i)*1000, strconv.Itoa(i)))
	}
	if _, err := w.Write(frames(t, append(other, "EOS")...)); err != nil {
		t.Fatal(err)
	}
	w.Close()
	select {
	case code := <-done:
		if code != ExitOK {
			t.Fatalf("exit %d: %s", code, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("stage did not exit")
	}
	// Each output batch comes in two chunks: the big value, then "1:i".
	got := describe(stdout.Bytes())
	if strings.Count(got, " 1:") != n || !strings.HasSuffix(got, " 1:40\nEOS") {
		t.Fatalf("stdout ends %q", got[max(0, len(got)-40):])
	}
}

func TestMultiSignal(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip("mkfifo:", err)
	}
	// The named pipe never gets a writer: a signal, then the grace
	// period, still ends the run with STOP.
	st := start(t, zipSpec, fifo)
	writeFrames(t, st.in, batch(1000, "a"))
	st.sig <- syscall.SIGTERM
	st.clock.BlockUntil(1)
	st.clock.Advance(StopGrace)
	if code := st.wait(t); code != ExitOK {
		t.Fatalf("exit %d: %s", code, st.stderr.String())
	}
	if got := describe(st.stdout.Bytes()); got != "STOP" {
		t.Fatalf("stdout\n%s", got)
	}
}

// A named input that goes on after its EOS (two captured streams
// concatenated) is an error, as for stdin.
func TestMultiFramesAfterEOS(t *testing.T) {
	dir := t.TempDir()
	b := writeFile(t, dir, "b", batch(1000, "b1"), "EOS", batch(2000, "b2"), "EOS")
	res := run(t, zipSpec, frames(t, batch(1000, "a1"), "EOS"), b)
	// The error may come before or after the output: the reader finds it
	// as soon as it has read past the EOS.
	if res.code != ExitRuntime {
		t.Fatalf("exit %d, stdout\n%s", res.code, describe(res.stdout))
	}
	want := "zip: " + b + ": BATCH 2000 after EOS at byte offset "
	if !strings.HasPrefix(res.stderr, want) || !strings.HasSuffix(res.stderr, ": the input holds more than one stream (replay captured streams with 'produce --frames')\n") {
		t.Fatalf("stderr %q, want %q...", res.stderr, want)
	}
}
