package stage

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"dstream/lib/checkpoint"
	"dstream/lib/frame"

	"github.com/urfave/cli/v2"
)

// countOp is the test Operator: it forwards every batch, counts records, and
// at EOS emits one batch holding "total=N". Its count is its checkpointed
// state. hooks let a test see each batch processed and make Process fail.
type countOp struct {
	n         int
	fail      string
	processed chan<- int64 // batch times, when a test listens
	closeErr  error
	closed    *bool
}

func (o *countOp) Process(ctx context.Context, b *frame.Batch, out Emitter) error {
	if o.fail != "" {
		return errors.New(o.fail)
	}
	o.n += b.Len()
	if err := out.Emit(b); err != nil {
		return err
	}
	if o.processed != nil {
		o.processed <- b.Time
	}
	return nil
}

func (o *countOp) Finish(ctx context.Context, out Emitter) error {
	return out.Emit(batch(0, fmt.Sprintf("total=%d", o.n)))
}

func (o *countOp) Snapshot(w io.Writer) error {
	_, err := fmt.Fprint(w, o.n)
	return err
}

func (o *countOp) Restore(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	o.n, err = strconv.Atoi(string(b))
	return err
}

func (o *countOp) Close() error {
	if o.closed != nil {
		*o.closed = true
	}
	return o.closeErr
}

type opHooks struct {
	processed chan int64
	closeErr  error
	closed    bool
}

// countSpec is a stage around countOp; hooks may be nil.
func countSpec(stateful bool, h *opHooks) *Spec {
	return &Spec{
		Name:      "count",
		Usage:     "count records",
		ArgsUsage: "[LABEL]",
		Flags:     []cli.Flag{&cli.StringFlag{Name: "fail", Usage: "fail with `MESSAGE`"}},
		MinArgs:   0, MaxArgs: 1,
		Stateful: stateful,
		New: func(c *Context) (any, error) {
			if c.Args().First() == "bad" {
				return nil, Usagef("bad label %q", "bad")
			}
			op := &countOp{fail: c.String("fail")}
			if h != nil {
				op.processed, op.closeErr, op.closed = h.processed, h.closeErr, &h.closed
			}
			return op, nil
		},
	}
}

// collectSink writes each record's value as a line and notes barriers.
type collectSink struct {
	c         *Context
	processed chan<- int64
}

func (s *collectSink) Process(ctx context.Context, b *frame.Batch, out Emitter) error {
	for _, p := range b.Partitions {
		for _, r := range p.Records {
			fmt.Fprintf(s.c.Stdout, "%s\n", r.Value)
		}
	}
	if s.processed != nil {
		s.processed <- b.Time
	}
	return nil
}

func (s *collectSink) Barrier(ctx context.Context, b frame.Barrier) error {
	// The sink's part comes before the commit.
	n, ok, err := s.c.Checkpoint.Committed()
	fmt.Fprintf(s.c.Stdout, "barrier %d (committed before: %d %v %v)\n", b.ID, n, ok, err)
	return nil
}

var collectSpec = &Spec{
	Name: "collect", Kind: KindSink,
	New: func(c *Context) (any, error) { return &collectSink{c: c}, nil },
}

// emittingSink breaks the rule that sinks do not emit.
var emittingSpec = &Spec{
	Name: "emitting", Kind: KindSink,
	New: func(c *Context) (any, error) { return &countOp{}, nil },
}

// genSource emits batches 1000, 2000 ... up to --n, then with --forever
// waits for its context, emits BARRIER 1 and returns the context's error.
// started is told after the batches are emitted.
type genSource struct {
	n       int
	forever bool
	ignore  bool // ignore cancellation: only a second signal ends the run
	fail    string
	started chan<- struct{}
}

func (g *genSource) Run(ctx context.Context, out Emitter) error {
	for i := 1; i <= g.n; i++ {
		if err := out.Emit(batch(int64(i)*1000, fmt.Sprint(i))); err != nil {
			return err
		}
	}
	if g.fail != "" {
		return errors.New(g.fail)
	}
	if g.started != nil {
		g.started <- struct{}{}
	}
	if g.ignore {
		select {}
	}
	if !g.forever {
		return nil
	}
	<-ctx.Done()
	if err := out.(BarrierEmitter).EmitBarrier(frame.Barrier{ID: 1, Time: int64(g.n) * 1000}); err != nil {
		return err
	}
	return ctx.Err()
}

func genSpec(started chan<- struct{}) *Spec {
	return &Spec{
		Name: "gen", Kind: KindSource, MaxArgs: 0,
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "n"}, &cli.BoolFlag{Name: "forever"}, &cli.BoolFlag{Name: "ignore"},
			&cli.StringFlag{Name: "fail"},
		},
		New: func(c *Context) (any, error) {
			return &genSource{n: c.Int("n"), forever: c.Bool("forever"), ignore: c.Bool("ignore"), fail: c.String("fail"), started: started}, nil
		},
	}
}

// batch makes a one-partition batch of unkeyed records at time t.
func batch(t int64, values ...string) *frame.Batch {
	b := &frame.Batch{Time: t, Interval: 1000, Partitions: []frame.Partition{{}}}
	for _, v := range values {
		b.Partitions[0].Records = append(b.Partitions[0].Records, frame.Record{Value: []byte(v)})
	}
	return b
}

// frames encodes a stream: *frame.Batch, frame.Barrier, "EOS" or "STOP".
func frames(t testing.TB, items ...any) []byte {
	t.Helper()
	var buf bytes.Buffer
	writeFrames(t, frame.NewWriter(&buf, frame.CodecNone, 0), items...)
	return buf.Bytes()
}

func writeFrames(t testing.TB, w *frame.Writer, items ...any) {
	t.Helper()
	for _, it := range items {
		var err error
		switch v := it.(type) {
		case *frame.Batch:
			err = w.WriteBatch(v)
		case frame.Barrier:
			err = w.WriteBarrier(v)
		case string:
			switch v {
			case "EOS":
				err = w.WriteEOS()
			case "STOP":
				err = w.WriteStop()
			default:
				t.Fatalf("bad item %q", v)
			}
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// describe decodes a stream to one line per frame: "BATCH T v1 v2",
// "BARRIER ID T", "EOS", "STOP"; a decoding error ends it as "error: ...".
func describe(data []byte) string {
	var lines []string
	r := frame.NewReader(bytes.NewReader(data), 0)
	for {
		f, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			lines = append(lines, "error: "+err.Error())
			break
		}
		switch f.Type {
		case frame.TypeBatch:
			l := fmt.Sprintf("BATCH %d", f.Batch.Time)
			for _, p := range f.Batch.Partitions {
				for _, rec := range p.Records {
					l += " " + string(rec.Value)
				}
			}
			lines = append(lines, l)
		case frame.TypeBarrier:
			lines = append(lines, fmt.Sprintf("BARRIER %d %d", f.Barrier.ID, f.Barrier.Time))
		default:
			lines = append(lines, f.Type.String())
		}
	}
	return strings.Join(lines, "\n")
}

type result struct {
	code   int
	stdout []byte
	stderr string
}

// run runs s with args and stdin to the end, with no signals.
func run(t testing.TB, s *Spec, stdin []byte, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Run(s, append([]string{s.Name}, args...), IO{
		Stdin: bytes.NewReader(stdin), Stdout: &stdout, Stderr: &stderr,
		Clock: NewFakeClock(time.Unix(0, 0)),
	})
	return result{code, stdout.Bytes(), stderr.String()}
}

// started runs s in the background with stdin a pipe the test writes
// frames to, signals it controls and a FakeClock.
type started struct {
	in     *frame.Writer
	pw     *io.PipeWriter
	sig    chan os.Signal
	clock  *FakeClock
	stdout bytes.Buffer
	stderr bytes.Buffer
	done   chan int
}

func start(t *testing.T, s *Spec, args ...string) *started {
	pr, pw := io.Pipe()
	st := &started{
		pw: pw, in: frame.NewWriter(pw, frame.CodecNone, 0),
		sig: make(chan os.Signal, 2), clock: NewFakeClock(time.Unix(0, 0)),
		done: make(chan int, 1),
	}
	t.Cleanup(func() { pw.Close() }) // releases a reader left blocked
	sio := IO{Stdin: pr, Stdout: &st.stdout, Stderr: &st.stderr, Signals: st.sig, Clock: st.clock}
	go func() { st.done <- Run(s, append([]string{s.Name}, args...), sio) }()
	return st
}

// wait returns the exit status; stdout and stderr may be read after it.
func (st *started) wait(t *testing.T) int {
	t.Helper()
	select {
	case code := <-st.done:
		return code
	case <-time.After(10 * time.Second):
		t.Fatal("stage did not exit")
		return -1
	}
}

func oneLine(t *testing.T, stderr, prefix string) {
	t.Helper()
	if !strings.HasPrefix(stderr, prefix+": ") || !strings.HasSuffix(stderr, "\n") || strings.Count(stderr, "\n") != 1 {
		t.Errorf("stderr %q is not one line starting %q", stderr, prefix+": ")
	}
}

func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec *Spec
		args []string
		want string
	}{
		{"unknown flag", countSpec(false, nil), []string{"--bogus"}, "count: flag provided but not defined: -bogus (see 'count --help')"},
		{"too many args", countSpec(false, nil), []string{"a", "b"}, "count: want 0 to 1 argument(s) ([LABEL]), got 2 (see 'count --help')"},
		{"args to a stage that takes none", genSpec(nil), []string{"x"}, "gen: want 0 argument(s) (no arguments), got 1"},
		{"bad max-frame-size", countSpec(false, nil), []string{"--max-frame-size", "12XB"}, `count: --max-frame-size: bad size "12XB"`},
		{"zero max-frame-size", countSpec(false, nil), []string{"--max-frame-size", "0"}, `count: --max-frame-size: bad size "0"`},
		{"huge max-frame-size", countSpec(false, nil), []string{"--max-frame-size", "4GiB"}, `count: --max-frame-size: bad size "4GiB"`},
		{"bad compress", countSpec(false, nil), []string{"--compress", "lz4"}, `count: --compress: unknown compression "lz4" (want one of none, s2, zstd)`},
		{"no compress for sinks", collectSpec, []string{"--compress", "s2"}, "collect: flag provided but not defined: -compress"},
		{"no ephemeral for stateless", countSpec(false, nil), []string{"--ephemeral"}, "count: flag provided but not defined: -ephemeral"},
		{"constructor usage error", countSpec(false, nil), []string{"bad"}, `count: bad label "bad"`},
		{"stateful without checkpoint", countSpec(true, nil), nil, "count: count keeps state across batches and needs a checkpoint directory: give --checkpoint DIR or set DSTREAM_CHECKPOINT, or --ephemeral to run without recovery on purpose"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(EnvCheckpoint, "")
			res := run(t, tc.spec, frames(t, "EOS"), tc.args...)
			if res.code != ExitUsage {
				t.Errorf("exit %d, want %d", res.code, ExitUsage)
			}
			if !strings.HasPrefix(res.stderr, tc.want) {
				t.Errorf("stderr %q, want it to start %q", res.stderr, tc.want)
			}
			oneLine(t, res.stderr, tc.spec.Name)
			if len(res.stdout) != 0 {
				t.Errorf("stdout %q on a usage error", res.stdout)
			}
		})
	}
}

func TestHelp(t *testing.T) {
	res := run(t, countSpec(false, nil), nil, "--help")
	if res.code != ExitOK || !strings.Contains(string(res.stdout), "count [flags] [LABEL]") || !strings.Contains(string(res.stdout), "--max-frame-size") {
		t.Fatalf("exit %d, stdout %q", res.code, res.stdout)
	}
}

func TestEOS(t *testing.T) {
	res := run(t, countSpec(false, nil), frames(t, batch(1000, "a", "b"), batch(2000), batch(3000, "c"), "EOS"))
	if res.code != ExitOK {
		t.Fatalf("exit %d: %s", res.code, res.stderr)
	}
	want := "BATCH 1000 a b\nBATCH 2000\nBATCH 3000 c\nBATCH 0 total=3\nEOS"
	if got := describe(res.stdout); got != want {
		t.Fatalf("stdout\n%s\nwant\n%s", got, want)
	}
	if res.stderr != "" {
		t.Errorf("stderr %q", res.stderr)
	}
}

func TestStopAndBarrierForwarded(t *testing.T) {
	res := run(t, countSpec(false, nil), frames(t, batch(1000, "a"), frame.Barrier{ID: 4, Time: 1000}, batch(2000, "b"), "STOP"))
	if res.code != ExitOK {
		t.Fatalf("exit %d: %s", res.code, res.stderr)
	}
	// No Finish at STOP: the stage checkpoints and exits without draining.
	want := "BATCH 1000 a\nBARRIER 4 1000\nBATCH 2000 b\nSTOP"
	if got := describe(res.stdout); got != want {
		t.Fatalf("stdout\n%s\nwant\n%s", got, want)
	}
}

func TestCompressOutput(t *testing.T) {
	in := frames(t, batch(1000, strings.Repeat("a", 1000)), "EOS")
	for _, codec := range []string{"none", "s2", "zstd"} {
		res := run(t, countSpec(false, nil), in, "--compress", codec)
		if res.code != ExitOK {
			t.Fatalf("%s: exit %d: %s", codec, res.code, res.stderr)
		}
		// The first partition's codec byte follows the 12-byte header,
		// the batch's time, interval, flags and partition count.
		if c := frame.Codec(res.stdout[frame.HeaderSize+18]); c.String() != codec {
			t.Errorf("--compress %s wrote %s partitions", codec, c)
		}
		if got := describe(res.stdout); !strings.HasPrefix(got, "BATCH 1000 aaaa") {
			t.Errorf("%s: %s", codec, got)
		}
	}
}

func TestMaxFrameSize(t *testing.T) {
	in := frames(t, batch(1000, strings.Repeat("a", 2000)), "EOS")
	res := run(t, countSpec(false, nil), in, "--max-frame-size", "1KiB")
	if res.code != ExitRuntime || !strings.Contains(res.stderr, "exceeds the size limit") || !strings.Contains(res.stderr, "byte offset 0") {
		t.Fatalf("exit %d, stderr %q", res.code, res.stderr)
	}
	if res := run(t, countSpec(false, nil), in, "--max-frame-size", "4K"); res.code != ExitOK {
		t.Fatalf("exit %d, stderr %q", res.code, res.stderr)
	}
}

func TestRuntimeErrors(t *testing.T) {
	good := frames(t, batch(1000, "a"))
	for _, tc := range []struct {
		name  string
		spec  *Spec
		stdin []byte
		args  []string
		want  string
	}{
		{"process error", countSpec(false, nil), frames(t, batch(1000, "a"), "EOS"), []string{"--fail", "disk on fire"}, "count: disk on fire\n"},
		{"no EOS", countSpec(false, nil), good, nil, "count: input ended without EOS or STOP: the upstream stage stopped early (see its error)\n"},
		{"empty input", countSpec(false, nil), nil, nil, "count: input ended without EOS or STOP"},
		{"corrupt frame", countSpec(false, nil), append(append([]byte{}, good...), "garbage!garbage!"...), nil,
			fmt.Sprintf(`count: reading stdin: not a dstream frame (bad magic): got "ga", want "DS" (frame 1 at byte offset %d)`, len(good))},
		{"torn frame", countSpec(false, nil), append(append([]byte{}, good...), frames(t, batch(2000, "b"))[:20]...), nil,
			fmt.Sprintf("count: reading stdin: stream ends inside a frame: 8 of 24 payload bytes (frame 1 at byte offset %d)", len(good))},
		{"sink emits", emittingSpec, frames(t, batch(1000, "a"), "EOS"), nil, "emitting: internal error: a sink emitted a batch"},
		{"source error", genSpec(nil), nil, []string{"--n", "1", "--fail", "kafka is down"}, "gen: kafka is down\n"},
		{"checkpoint not a directory", countSpec(false, nil), frames(t, "EOS"), []string{"--checkpoint", "/dev/null"}, "count: checkpoint directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := run(t, tc.spec, tc.stdin, tc.args...)
			if res.code != ExitRuntime {
				t.Errorf("exit %d, want %d", res.code, ExitRuntime)
			}
			if !strings.HasPrefix(res.stderr, tc.want) {
				t.Errorf("stderr %q, want it to start %q", res.stderr, tc.want)
			}
			oneLine(t, res.stderr, tc.spec.Name)
			if strings.Contains(describe(res.stdout), "EOS") {
				t.Errorf("EOS written after an error: %s", describe(res.stdout))
			}
		})
	}
}

func TestCloser(t *testing.T) {
	h := &opHooks{closeErr: errors.New("flush failed")}
	res := run(t, countSpec(false, h), frames(t, "EOS"))
	if res.code != ExitRuntime || res.stderr != "count: flush failed\n" || !h.closed {
		t.Fatalf("exit %d, stderr %q, closed %v", res.code, res.stderr, h.closed)
	}
	// Closed also when the run fails, and the run's error is the one told.
	h = &opHooks{closeErr: errors.New("flush failed")}
	res = run(t, countSpec(false, h), nil)
	if res.code != ExitRuntime || !strings.Contains(res.stderr, "without EOS") || !h.closed {
		t.Fatalf("exit %d, stderr %q, closed %v", res.code, res.stderr, h.closed)
	}
}

func TestSinkCommits(t *testing.T) {
	dir := t.TempDir()
	in := frames(t, batch(1000, "a", "b"), frame.Barrier{ID: 3, Time: 1000}, batch(2000, "c"), frame.Barrier{ID: 4, Time: 2000}, "EOS")
	res := run(t, collectSpec, in, "--checkpoint", dir)
	if res.code != ExitOK {
		t.Fatalf("exit %d: %s", res.code, res.stderr)
	}
	// A sink forwards no control frames; its Barrier runs before the commit.
	want := "a\nb\nbarrier 3 (committed before: 0 false <nil>)\nc\nbarrier 4 (committed before: 3 true <nil>)\n"
	if string(res.stdout) != want {
		t.Fatalf("stdout %q, want %q", res.stdout, want)
	}
	b, err := os.ReadFile(filepath.Join(dir, "committed"))
	if err != nil || string(b) != "4\n" {
		t.Fatalf("committed = %q, %v; want 4", b, err)
	}
}

func TestSinkWithoutCheckpoint(t *testing.T) {
	t.Setenv(EnvCheckpoint, "")
	res := run(t, collectSpec, frames(t, batch(1000, "a"), "STOP"))
	if res.code != ExitOK || string(res.stdout) != "a\n" {
		t.Fatalf("exit %d, stdout %q, stderr %q", res.code, res.stdout, res.stderr)
	}
}

func TestSnapshotRestore(t *testing.T) {
	dir := t.TempDir()
	spec := countSpec(true, nil)
	in := frames(t, batch(1000, "a", "b"), frame.Barrier{ID: 1, Time: 1000}, batch(2000, "c"), frame.Barrier{ID: 2, Time: 2000}, "STOP")
	res := run(t, spec, in, "--checkpoint", dir, "--id", "c1")
	if res.code != ExitOK {
		t.Fatalf("exit %d: %s", res.code, res.stderr)
	}
	if got := describe(res.stdout); got != "BATCH 1000 a b\nBARRIER 1 1000\nBATCH 2000 c\nBARRIER 2 2000\nSTOP" {
		t.Fatalf("stdout\n%s", got)
	}
	for id, want := range map[int]string{1: "2", 2: "3"} {
		if got := readState(t, filepath.Join(dir, "c1", fmt.Sprintf("snapshot-%d", id))); got != want {
			t.Errorf("snapshot-%d = %q; want %q", id, got, want)
		}
	}

	// Nothing committed: a restart starts from nothing.
	res = run(t, spec, frames(t, batch(3000, "d"), "EOS"), "--checkpoint", dir, "--id", "c1")
	if got := describe(res.stdout); res.code != ExitOK || !strings.Contains(got, "total=1") {
		t.Fatalf("uncommitted restart: exit %d, stdout %s, stderr %s", res.code, got, res.stderr)
	}

	// Checkpoint 1 committed: a restart starts from its state.
	d, err := checkpoint.Open(dir, "c1")
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Commit(1); err != nil {
		t.Fatal(err)
	}
	res = run(t, spec, frames(t, batch(2000, "c"), "EOS"), "--checkpoint", dir, "--id", "c1")
	if got := describe(res.stdout); res.code != ExitOK || !strings.Contains(got, "total=3") {
		t.Fatalf("restart from checkpoint 1: exit %d, stdout %s, stderr %s", res.code, got, res.stderr)
	}

	// A committed checkpoint without this stage's snapshot is an error.
	if err := d.Commit(7); err != nil {
		t.Fatal(err)
	}
	res = run(t, spec, frames(t, "EOS"), "--checkpoint", dir, "--id", "c1")
	if res.code != ExitRuntime || !strings.HasPrefix(res.stderr, "count: restoring checkpoint 7: open ") {
		t.Fatalf("exit %d, stderr %q", res.code, res.stderr)
	}
}

func TestCheckpointFromEnv(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ckpt")
	t.Setenv(EnvCheckpoint, dir)
	res := run(t, countSpec(true, nil), frames(t, batch(1000, "a"), frame.Barrier{ID: 5, Time: 1000}, "EOS"))
	if res.code != ExitOK {
		t.Fatalf("exit %d: %s", res.code, res.stderr)
	}
	if got := readState(t, filepath.Join(dir, "count", "snapshot-5")); got != "1" {
		t.Fatalf("snapshot = %q", got)
	}
	// The flag wins over the environment.
	other := t.TempDir()
	res = run(t, countSpec(true, nil), frames(t, frame.Barrier{ID: 6, Time: 1000}, "EOS"), "--checkpoint", other)
	if _, err := os.Stat(filepath.Join(other, "count", "snapshot-6")); res.code != ExitOK || err != nil {
		t.Fatalf("exit %d, %v", res.code, err)
	}
}

func TestEphemeral(t *testing.T) {
	t.Setenv(EnvCheckpoint, "")
	res := run(t, countSpec(true, nil), frames(t, batch(1000, "a"), frame.Barrier{ID: 1, Time: 1000}, "EOS"), "--ephemeral")
	if got := describe(res.stdout); res.code != ExitOK || got != "BATCH 1000 a\nBARRIER 1 1000\nBATCH 0 total=1\nEOS" {
		t.Fatalf("exit %d, stdout %s, stderr %s", res.code, got, res.stderr)
	}
}

func TestSourceEOS(t *testing.T) {
	res := run(t, genSpec(nil), nil, "--n", "2")
	if got := describe(res.stdout); res.code != ExitOK || got != "BATCH 1000 1\nBATCH 2000 2\nEOS" {
		t.Fatalf("exit %d, stdout %s, stderr %s", res.code, got, res.stderr)
	}
}

func TestSourceSignal(t *testing.T) {
	ready := make(chan struct{}, 1)
	st := start(t, genSpec(ready), "--n", "2", "--forever")
	<-ready
	st.sig <- syscall.SIGTERM
	if code := st.wait(t); code != ExitOK {
		t.Fatalf("exit %d: %s", code, st.stderr.String())
	}
	// The source's context was cancelled: it emitted its last barrier and
	// returned; the runtime wrote STOP.
	if got := describe(st.stdout.Bytes()); got != "BATCH 1000 1\nBATCH 2000 2\nBARRIER 1 2000\nSTOP" {
		t.Fatalf("stdout\n%s", got)
	}
}

func TestSourceSecondSignal(t *testing.T) {
	ready := make(chan struct{}, 1)
	st := start(t, genSpec(ready), "--n", "1", "--ignore")
	<-ready
	st.sig <- syscall.SIGINT
	st.sig <- syscall.SIGTERM
	if code := st.wait(t); code != 128+int(syscall.SIGTERM) {
		t.Fatalf("exit %d, want %d", code, 128+int(syscall.SIGTERM))
	}
	if got := st.stderr.String(); got != "gen: second signal (terminated): exiting at once\n" {
		t.Fatalf("stderr %q", got)
	}
}

func TestOperatorSignalWaitsForStop(t *testing.T) {
	h := &opHooks{processed: make(chan int64, 1)}
	st := start(t, countSpec(false, h))
	writeFrames(t, st.in, batch(1000, "a"))
	<-h.processed
	st.sig <- syscall.SIGINT
	st.clock.BlockUntil(1) // the grace period has started
	// The source got the same signal; batches already in the pipe still
	// come through, then its STOP.
	writeFrames(t, st.in, batch(2000, "b"))
	if got := <-h.processed; got != 2000 {
		t.Fatalf("processed %d", got)
	}
	writeFrames(t, st.in, "STOP")
	st.pw.Close() // the source exits after its STOP
	if code := st.wait(t); code != ExitOK {
		t.Fatalf("exit %d: %s", code, st.stderr.String())
	}
	if got := describe(st.stdout.Bytes()); got != "BATCH 1000 a\nBATCH 2000 b\nSTOP" {
		t.Fatalf("stdout\n%s", got)
	}
	if !strings.Contains(st.stderr.String(), "signal received") {
		t.Errorf("stderr %q does not log the signal", st.stderr.String())
	}
}

func TestOperatorGraceTimeout(t *testing.T) {
	h := &opHooks{processed: make(chan int64, 1)}
	st := start(t, countSpec(false, h))
	writeFrames(t, st.in, batch(1000, "a"))
	<-h.processed
	st.sig <- syscall.SIGTERM
	st.clock.BlockUntil(1)
	st.clock.Advance(StopGrace)
	if code := st.wait(t); code != ExitOK {
		t.Fatalf("exit %d: %s", code, st.stderr.String())
	}
	// A stage signalled alone writes STOP itself.
	if got := describe(st.stdout.Bytes()); got != "BATCH 1000 a\nSTOP" {
		t.Fatalf("stdout\n%s", got)
	}
	if !strings.Contains(st.stderr.String(), "no STOP from upstream") {
		t.Errorf("stderr %q", st.stderr.String())
	}
}

func TestOperatorSecondSignal(t *testing.T) {
	st := start(t, countSpec(false, nil))
	st.sig <- syscall.SIGINT
	st.clock.BlockUntil(1)
	st.sig <- syscall.SIGINT
	if code := st.wait(t); code != 128+int(syscall.SIGINT) {
		t.Fatalf("exit %d, want %d", code, 128+int(syscall.SIGINT))
	}
	if !strings.HasSuffix(st.stderr.String(), "count: second signal (interrupt): exiting at once\n") {
		t.Fatalf("stderr %q", st.stderr.String())
	}
}

func TestSinkGraceTimeout(t *testing.T) {
	processed := make(chan int64, 1)
	spec := &Spec{
		Name: "collect", Kind: KindSink,
		New: func(c *Context) (any, error) { return &collectSink{c: c, processed: processed}, nil },
	}
	st := start(t, spec)
	writeFrames(t, st.in, batch(1000, "a"))
	<-processed
	st.sig <- syscall.SIGTERM
	st.clock.BlockUntil(1)
	st.clock.Advance(StopGrace)
	if code := st.wait(t); code != ExitOK {
		t.Fatalf("exit %d: %s", code, st.stderr.String())
	}
	if got := st.stdout.String(); got != "a\n" {
		t.Fatalf("stdout %q", got)
	}
}

func TestMainMulti(t *testing.T) {
	specs := []*Spec{countSpec(false, nil), collectSpec, genSpec(nil)}
	type call struct {
		name string
		args []string
	}
	var got *call
	fake := func(s *Spec, args []string) int {
		got = &call{s.Name, args}
		return 42
	}
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		call   *call
		stdout string
		stderr string
	}{
		{"by program name", []string{"/usr/local/bin/count", "x"}, 42, &call{"count", []string{"/usr/local/bin/count", "x"}}, "", ""},
		{"by first argument", []string{"dstream", "gen", "--n", "1"}, 42, &call{"gen", []string{"gen", "--n", "1"}}, "", ""},
		{"unknown stage", []string{"dstream", "window"}, ExitUsage, nil, "", `dstream: unknown stage "window" (run 'dstream --help' for the list)` + "\n"},
		{"no stage", []string{"dstream"}, ExitUsage, nil, "", "usage: dstream STAGE"},
		{"no args at all", nil, ExitUsage, nil, "", "usage: dstream STAGE"},
		{"help", []string{"dstream", "--help"}, ExitOK, nil, "usage: dstream STAGE", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got = nil
			var stdout, stderr bytes.Buffer
			code := multi("dstream", specs, tc.args, &stdout, &stderr, fake)
			if code != tc.code {
				t.Errorf("exit %d, want %d", code, tc.code)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.call) {
				t.Errorf("called %v, want %v", got, tc.call)
			}
			if !strings.HasPrefix(stdout.String(), tc.stdout) || (tc.stdout == "" && stdout.Len() != 0) {
				t.Errorf("stdout %q, want %q", stdout.String(), tc.stdout)
			}
			if !strings.HasPrefix(stderr.String(), tc.stderr) || (tc.stderr == "" && stderr.Len() != 0) {
				t.Errorf("stderr %q, want %q", stderr.String(), tc.stderr)
			}
		})
	}
	// The listing names every stage with its usage, sorted.
	var stdout bytes.Buffer
	multi("dstream", specs, []string{"dstream", "help"}, &stdout, io.Discard, fake)
	sc := bufio.NewScanner(&stdout)
	var names []string
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) > 0 && strings.HasPrefix(sc.Text(), "  ") {
			names = append(names, f[0])
		}
	}
	if strings.Join(names, " ") != "collect count gen" {
		t.Errorf("listed %v", names)
	}

	// Through Run: the stage's own errors keep the stage's name.
	var stderr bytes.Buffer
	realRun := func(s *Spec, args []string) int {
		return Run(s, args, IO{Stdin: bytes.NewReader(nil), Stdout: io.Discard, Stderr: &stderr})
	}
	if code := multi("dstream", specs, []string{"dstream", "count", "--bogus"}, io.Discard, io.Discard, realRun); code != ExitUsage {
		t.Errorf("exit %d", code)
	}
	oneLine(t, stderr.String(), "count")
}

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
	}{
		{"1", 1}, {"1048576", 1 << 20}, {"64KiB", 64 << 10}, {"64K", 64 << 10}, {"256MiB", 256 << 20},
		{"3GiB", 3 << 30}, {"3G", 3 << 30}, {"100B", 100}, {"4294967295", 1<<32 - 1},
		{"0", 0}, {"-1", 0}, {"4GiB", 0}, {"4294967296", 0}, {"", 0}, {"MiB", 0}, {"1.5MiB", 0}, {"1 MiB", 0}, {"1MB", 0}, {"1kib", 0},
	} {
		got, err := ParseSize(tc.in)
		if got != tc.want || (err == nil) != (tc.want > 0) {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
}

func TestFakeClock(t *testing.T) {
	c := NewFakeClock(time.Unix(100, 0))
	if now := <-c.After(0); !now.Equal(time.Unix(100, 0)) {
		t.Fatalf("After(0) fired at %v", now)
	}
	a, b := c.After(time.Second), c.After(2*time.Second)
	c.BlockUntil(2)
	c.Advance(time.Second)
	select {
	case now := <-a:
		if !now.Equal(time.Unix(101, 0)) {
			t.Fatalf("fired at %v", now)
		}
	default:
		t.Fatal("timer due at 1s did not fire")
	}
	select {
	case <-b:
		t.Fatal("timer due at 2s fired at 1s")
	default:
	}
	if c.Waiters() != 1 {
		t.Fatalf("%d waiters, want 1", c.Waiters())
	}
	c.Advance(time.Hour)
	<-b
	if !c.Now().Equal(time.Unix(3701, 0)) || c.Waiters() != 0 {
		t.Fatalf("now %v, %d waiters", c.Now(), c.Waiters())
	}
	// BlockUntil returns once another goroutine waits on the clock.
	go c.After(time.Minute)
	c.BlockUntil(1)
}

func TestSnapshotsPruned(t *testing.T) {
	dir := t.TempDir()
	d, err := checkpoint.Open(dir, "count")
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Commit(2); err != nil {
		t.Fatal(err)
	}
	for i, name := range []string{"snapshot-1", "snapshot-2", "snapshot-3", "other-1"} {
		if err := d.WriteFile(name, checkpoint.EncodeSnapshot(checkpoint.Meta{ID: uint64(i + 1), Stage: "count"}, []byte("0"))); err != nil {
			t.Fatal(err)
		}
	}
	// Restored from 2; barrier 4 comes; 1 is older than the committed
	// checkpoint and goes; 2 (committed), 3 (may yet be) and others stay.
	res := run(t, countSpec(true, nil), frames(t, frame.Barrier{ID: 4, Time: 1000}, "EOS"), "--checkpoint", dir)
	if res.code != ExitOK {
		t.Fatalf("exit %d: %s", res.code, res.stderr)
	}
	entries, err := os.ReadDir(d.Path)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if got := strings.Join(names, " "); got != "other-1 snapshot-2 snapshot-3 snapshot-4" {
		t.Fatalf("files %s", got)
	}
}

func TestChunkProtocol(t *testing.T) {
	var in bytes.Buffer
	w := frame.NewWriter(&in, frame.CodecNone, 0)
	w.WriteBatch(&frame.Batch{Time: 1000, Interval: 1000, More: true})
	w.WriteBatch(&frame.Batch{Time: 1000, Interval: 1000})
	w.WriteBatch(&frame.Batch{Time: 2000, Interval: 1000, More: true})
	w.WriteEOS()
	var out, errb bytes.Buffer
	code := Run(chunkCounter, []string{"chunks"}, IO{Stdin: &in, Stdout: &out, Stderr: &errb})
	if code != ExitRuntime {
		t.Fatalf("exit %d, want %d", code, ExitRuntime)
	}
	want := "chunks: batch 2000 ended without its last chunk: EOS came next (the upstream stage broke the chunk protocol)\n"
	if errb.String() != want {
		t.Errorf("stderr %q, want %q", errb.String(), want)
	}
}

var chunkCounter = &Spec{
	Name: "chunks", Kind: KindOperator,
	New: func(*Context) (any, error) { return passThrough{}, nil },
}

type passThrough struct{}

func (passThrough) Process(_ context.Context, b *frame.Batch, out Emitter) error {
	return out.Emit(b)
}

func TestFlagsFirst(t *testing.T) {
	flags := []cli.Flag{&cli.StringFlag{Name: "batch"}, &cli.BoolFlag{Name: "queue"}, &cli.IntFlag{Name: "batches"}}
	tests := []struct{ in, want string }{
		{"p a b", "p -- a b"},
		{"p --queue a b --batches 3", "p --queue --batches 3 -- a b"},
		{"p a --batch=1s b", "p --batch=1s -- a b"},
		{"p a --batch 1s", "p --batch 1s -- a"},
		{"p a -- --queue b", "p -- a --queue b"},
		{"p --nope a", "p --nope -- a"},
		{"p - a", "p -- - a"},
		{"p --batch", "p --batch"},
		{"p a --batch", "p --batch"},
		{"p", "p"},
	}
	for _, tt := range tests {
		got := strings.Join(flagsFirst(flags, strings.Fields(tt.in)), " ")
		if got != tt.want {
			t.Errorf("flagsFirst(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// After EOS the runtime checks that the input ends; a signal while an
// upstream keeps its end open must not leave the stage hanging.
func TestSignalAfterEOS(t *testing.T) {
	st := start(t, countSpec(false, nil))
	writeFrames(t, st.in, batch(1000, "a"), "EOS")
	// Before or after the runtime reaches its end-of-input check, the
	// signal ends the wait.
	st.sig <- syscall.SIGTERM
	if code := st.wait(t); code != ExitOK {
		t.Fatalf("exit %d: %s", code, st.stderr.String())
	}
	if got := describe(st.stdout.Bytes()); !strings.HasSuffix(got, "EOS") {
		t.Fatalf("stdout\n%s", got)
	}
}

// readState returns the state in the snapshot file path.
func readState(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, state, err := checkpoint.DecodeSnapshot(b)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return string(state)
}

// A restore refuses a damaged snapshot and one taken with other
// arguments, each with a way out; --reset-state takes it.
func TestRestoreRefuses(t *testing.T) {
	dir := t.TempDir()
	spec := countSpec(true, nil)
	spec.MaxArgs = 1
	res := run(t, spec, frames(t, batch(1000, "a"), frame.Barrier{ID: 1, Time: 1000}, "STOP"), "--checkpoint", dir, "x y")
	if res.code != ExitOK {
		t.Fatalf("exit %d: %s", res.code, res.stderr)
	}
	d, err := checkpoint.Open(dir, "count")
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Commit(1); err != nil {
		t.Fatal(err)
	}
	snap := filepath.Join(dir, "count", "snapshot-1")

	res = run(t, spec, frames(t, "EOS"), "--checkpoint", dir, "z")
	want := "count: restoring checkpoint 1: " + snap + " was taken by 'count \"x y\"', this run is 'count z': the state would be read wrongly; run with the arguments of the last run, or give --reset-state to start this stage with empty state, or remove the checkpoint directory to start the pipeline over\n"
	if res.code != ExitRuntime || res.stderr != want {
		t.Fatalf("changed arguments: exit %d, stderr\n%s\nwant\n%s", res.code, res.stderr, want)
	}
	res = run(t, spec, frames(t, batch(2000, "b"), "EOS"), "--checkpoint", dir, "z", "--reset-state")
	if got := describe(res.stdout); res.code != ExitOK || !strings.Contains(got, "total=1") || !strings.Contains(res.stderr, "--reset-state") {
		t.Fatalf("--reset-state: exit %d, stdout %s, stderr %s", res.code, got, res.stderr)
	}
	res = run(t, spec, frames(t, batch(2000, "b"), "EOS"), "--checkpoint", dir, "x y")
	if got := describe(res.stdout); res.code != ExitOK || !strings.Contains(got, "total=2") {
		t.Fatalf("same arguments: exit %d, stdout %s, stderr %s", res.code, got, res.stderr)
	}

	b, err := os.ReadFile(snap)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(snap, b[:len(b)-3], 0o600); err != nil {
		t.Fatal(err)
	}
	res = run(t, spec, frames(t, "EOS"), "--checkpoint", dir, "x y")
	if res.code != ExitRuntime || !strings.HasPrefix(res.stderr, "count: restoring checkpoint 1: "+snap+": snapshot damaged or cut short: its checksum does not match") || !strings.Contains(res.stderr, "--reset-state") {
		t.Fatalf("torn snapshot: exit %d, stderr %s", res.code, res.stderr)
	}
}
