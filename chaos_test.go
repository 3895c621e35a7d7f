package dstream_test

// The chaos test of checkpoint recovery (DESIGN.md, "Checkpoints and
// recovery"): a real pipeline of stage binaries joined by real pipes,
//
//	produce --event-time ... --batch 10ms --checkpoint-every 5 --realtime events.csv
//	  | mapvalues 'split(value, ",")[2]' | window 500ms/200ms | reducebykey sum
//	  | updatestatebykey sum | sink --text-files out/part
//
// is killed at random points and restarted with the same command lines
// until a run ends by itself; the files it wrote must then be those of an
// uninterrupted run, byte for byte.
//
//	TestChaosKill  kill -9 one stage, or the whole process group, 1 to 3
//	               times a point; a killed run may fail as it likes (broken
//	               pipes, input without EOS), but never with another error
//	TestChaosTerm  SIGTERM to produce (STOP) or to the whole group; every
//	               stage of a signalled run must exit 0
//
// Each point has its own seed, printed when it fails; -chaos.seed N runs
// that point alone (the same signals in the same order, at the same
// delays; the processes' own timing differs). -chaos.long runs 200 points
// a test instead of 20, and -chaos.parallel N that many pipelines at once
// (6). The stages are built without -race whatever the test runs under: the
// pipelines run on the wall clock (--realtime) and must stay short.

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

var (
	chaosSeed     = flag.Uint64("chaos.seed", 0, "chaos tests: run only the point with this seed (printed when a point fails)")
	chaosLong     = flag.Bool("chaos.long", false, "chaos tests: a soak run of 200 points a test instead of 20")
	chaosParallel = flag.Int("chaos.parallel", 6, "chaos tests: pipelines run at once (they mostly wait on the clock)")
)

// chaosStages are the pipeline's command lines; {in} is the input file and
// {out} the output directory of the run.
var chaosStages = [][]string{
	// --chunk-size sends every 10 ms batch in several chunks, so that a
	// kill can fall between the chunks of a batch too.
	// --lateness and --late: lines out of order, some late, whose side
	// output is cut back to its checkpointed size on a restart.
	{"produce", "--format", "csv", "--event-time", "1", "--key-field", "2", "--batch", chaosBatch.String(),
		"--lateness", "20ms", "--late", "late.csv",
		"--checkpoint-every", "5", "--chunk-size", "100", "--realtime", "{in}"},
	{"mapvalues", `split(value, ",")[2]`},
	{"window", "500ms/200ms"},
	{"reducebykey", "sum"},
	{"updatestatebykey", "sum"},
	{"sink", "--text-files", "{out}/part"},
}

const (
	chaosBatch      = 10 * time.Millisecond // produce --batch
	chaosRunTimeout = 60 * time.Second      // a run that takes longer hangs
	chaosMaxRuns    = 12                    // runs of a point before giving up
	// chaosTermReady is the least time before a SIGTERM: a Go program
	// killed by SIGTERM before main installs its handler exits by the
	// signal, which says nothing about dstream.
	chaosTermReady = 250 * time.Millisecond
)

// chaosEnv is what the points of a test share: the binaries, the input and
// the reference run.
type chaosEnv struct {
	bin, in string
	runLen  time.Duration // how long a run lasts: its batches at --realtime
	ref     string        // the reference run's directory: out/ and late.csv
	refDone chan struct{} // closed when the reference run has ended
	refErr  error         // why the reference run failed; read after refDone
}

// newChaosEnv builds the stages, writes the input and starts the reference
// run (no signals, its own checkpoint directory), which goes on while the
// first points run.
func newChaosEnv(t *testing.T) *chaosEnv {
	if testing.Short() {
		t.Skip("chaos tests run real pipelines for tens of seconds; skipped with -short")
	}
	dir := t.TempDir()
	e := &chaosEnv{bin: filepath.Join(dir, "bin"), in: filepath.Join(dir, "events.csv"),
		ref: filepath.Join(dir, "ref"), refDone: make(chan struct{})}
	args := []string{"build", "-o", e.bin + string(filepath.Separator)}
	for _, s := range chaosStages {
		args = append(args, "./cmd/"+s[0])
	}
	build := exec.Command("go", args...)
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	in, batches := chaosInput()
	if err := os.WriteFile(e.in, in, 0o644); err != nil {
		t.Fatal(err)
	}
	e.runLen = time.Duration(batches) * chaosBatch
	go func() {
		defer close(e.refDone)
		e.refErr = e.reference(t)
	}()
	return e
}

// reference makes the reference run.
func (e *chaosEnv) reference(t *testing.T) error {
	start := time.Now()
	p, err := e.start(e.ref)
	if err != nil {
		return err
	}
	if !p.wait(time.After(chaosRunTimeout)) {
		return fmt.Errorf("the reference run hangs\n%s", p.report(p.kill()))
	}
	if st := p.reap(); !allZero(st) || p.errorLines() != "" {
		return fmt.Errorf("the reference run failed\n%s", p.report(st))
	}
	names, err := os.ReadDir(filepath.Join(e.ref, "out"))
	if err != nil || len(names) < 10 {
		return fmt.Errorf("the reference run wrote %d files (%v); want at least 10", len(names), err)
	}
	late, err := os.ReadFile(filepath.Join(e.ref, "late.csv"))
	if n := bytes.Count(late, []byte("\n")); err != nil || n < 10 {
		return fmt.Errorf("the reference run's late.csv has %d lines (%v); want at least 10", n, err)
	}
	t.Logf("reference run: %v, %d output files, %d late lines", time.Since(start).Round(time.Millisecond), len(names), bytes.Count(late, []byte("\n")))
	return nil
}

// chaosInput is the input: 2000 lines "TIME,ACCOUNT,AMOUNT" over 216
// batches of 10 ms, some of them empty (gaps in time), some lines a little
// out of order (within --lateness) and some late.
func chaosInput() (in []byte, batches int) {
	rng := rand.New(rand.NewPCG(4, 4))
	var b bytes.Buffer
	ts := int64(1_000)
	for i := range 2000 {
		if i%500 == 499 {
			ts += 40 // four empty batches
		}
		t := ts
		switch i % 50 {
		case 17:
			t -= 15 // out of order, in time
		case 41:
			t -= 45 // late: its batch went out
		}
		fmt.Fprintf(&b, "%d,acct-%d,%d.%02d\n", t, rng.IntN(6), rng.IntN(500), rng.IntN(100))
		ts++
	}
	return b.Bytes(), int((ts-1_000)/chaosBatch.Milliseconds()) + 1
}

// pipeline is one run: the stages, each its own process, in one process
// group whose id is the first stage's pid.
type pipeline struct {
	cmds   []*exec.Cmd
	stderr []*bytes.Buffer
	pgid   int
	start  time.Time
	// done is closed when every stage has exited: each holds the write end
	// of a pipe, whose read end sees EOF then. The stages are reaped only
	// after that, so no pid (nor the group's id) can be reused by another
	// process while the test may still signal it.
	done chan struct{}
}

// start starts a run in dir: checkpoints in dir/ck, output in dir/out.
func (e *chaosEnv) start(dir string) (*pipeline, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	env := append(os.Environ(), "DSTREAM_CHECKPOINT="+filepath.Join(dir, "ck"))
	live, liveW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer liveW.Close()
	p := &pipeline{done: make(chan struct{}), start: time.Now()}
	var ends []*os.File // the pipes' ends, closed here once the stages hold them
	defer func() {
		for _, f := range ends {
			f.Close()
		}
	}()
	for i, s := range chaosStages {
		args := make([]string, len(s)-1)
		for j, a := range s[1:] {
			args[j] = strings.NewReplacer("{in}", e.in, "{out}", "out").Replace(a)
		}
		c := exec.Command(filepath.Join(e.bin, s[0]), args...)
		c.Args[0] = s[0]
		c.Dir, c.Env = dir, env
		c.ExtraFiles = []*os.File{liveW}
		c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pgid: p.pgid}
		stderr := new(bytes.Buffer)
		c.Stderr = stderr
		if i == 0 {
			c.Stdin = nil // /dev/null
		} else {
			r, w, err := os.Pipe()
			if err != nil {
				p.abort(live)
				return nil, err
			}
			ends = append(ends, r, w)
			p.cmds[i-1].Stdout = w
			c.Stdin = r
		}
		if i == len(chaosStages)-1 {
			c.Stdout = nil // /dev/null: the sink writes files
		}
		p.cmds = append(p.cmds, c)
		p.stderr = append(p.stderr, stderr)
	}
	// Each stage starts once its stdout (the next pipe) exists.
	for i, c := range p.cmds {
		if err := c.Start(); err != nil {
			p.cmds = p.cmds[:i]
			p.abort(live)
			return nil, err
		}
		if i == 0 {
			p.pgid = c.Process.Pid
			for _, next := range p.cmds[1:] {
				next.SysProcAttr.Pgid = p.pgid
			}
		}
	}
	go func() {
		io.Copy(io.Discard, live)
		live.Close()
		close(p.done)
	}()
	return p, nil
}

// abort kills and reaps the stages started so far.
func (p *pipeline) abort(live *os.File) {
	for _, c := range p.cmds {
		if c.Process != nil {
			c.Process.Kill()
			c.Wait()
		}
	}
	live.Close()
}

// wait waits for every stage to exit, or for timeout: false then.
func (p *pipeline) wait(timeout <-chan time.Time) bool {
	select {
	case <-p.done:
		return true
	case <-timeout:
		return false
	}
}

func (p *pipeline) signalGroup(sig syscall.Signal) error { return syscall.Kill(-p.pgid, sig) }

// kill ends a run that must not go on: kill -9 to the group, then reap.
func (p *pipeline) kill() []status {
	p.signalGroup(syscall.SIGKILL)
	p.wait(nil)
	return p.reap()
}

// status is how a stage ended: an exit code, or the signal that killed it.
type status struct {
	code int
	sig  syscall.Signal
}

func (s status) String() string {
	if s.sig != 0 {
		return "killed by " + sigName(s.sig)
	}
	return fmt.Sprintf("exit %d", s.code)
}

func sigName(sig syscall.Signal) string {
	switch sig {
	case syscall.SIGKILL:
		return "SIGKILL"
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGPIPE:
		return "SIGPIPE"
	}
	return sig.String()
}

// reap collects the statuses of stages that have all exited.
func (p *pipeline) reap() []status {
	st := make([]status, len(p.cmds))
	for i, c := range p.cmds {
		err := c.Wait()
		var ee *exec.ExitError
		switch {
		case err == nil:
		case errors.As(err, &ee):
			ws := ee.Sys().(syscall.WaitStatus)
			if ws.Signaled() {
				st[i].sig = ws.Signal()
			} else {
				st[i].code = ws.ExitStatus()
			}
		default:
			st[i].code = -1
		}
	}
	return st
}

func allZero(st []status) bool {
	for _, s := range st {
		if s != (status{}) {
			return false
		}
	}
	return true
}

// errorLines returns the stages' stderr lines that are not log lines
// (log/slog's level=...): errors.
func (p *pipeline) errorLines() string {
	var b strings.Builder
	for _, s := range p.stderr {
		sc := bufio.NewScanner(bytes.NewReader(s.Bytes()))
		for sc.Scan() {
			if !strings.HasPrefix(sc.Text(), "level=") {
				b.WriteString(sc.Text() + "\n")
			}
		}
	}
	return b.String()
}

// report describes a run: each stage's status and stderr.
func (p *pipeline) report(st []status) string {
	var b strings.Builder
	for i, c := range p.cmds {
		fmt.Fprintf(&b, "  %s: %v\n", c.Args[0], st[i])
		for _, line := range strings.SplitAfter(strings.TrimRight(p.stderr[i].String(), "\n"), "\n") {
			if line != "" {
				fmt.Fprintf(&b, "    | %s", strings.TrimSuffix(line, "\n")+"\n")
			}
		}
	}
	return b.String()
}

// killedErrors are the errors a stage may report when another stage of its
// pipeline is killed under it: its input ends early, or inside a frame.
// Any other error (a failed restore, a bad frame) is a bug.
var killedErrors = regexp.MustCompile(`^(\w+): (input ended without EOS or STOP: the upstream stage stopped early \(see its error\)|reading stdin: stream ends inside a frame.* \(frame \d+ at byte offset \d+\))$`)

// chaosMode is what a test does to a run.
type chaosMode int

const (
	modeKill chaosMode = iota // kill -9 one stage or the whole group
	modeTerm                  // SIGTERM to produce or to the whole group
)

// chaosTest runs the points of a test, several at once, each a subtest
// named by its seed.
func chaosTest(t *testing.T, mode chaosMode) {
	e := newChaosEnv(t)
	points := 20
	if *chaosLong {
		points = 200
	}
	base := *chaosSeed
	if base == 0 {
		base = uint64(time.Now().UnixNano())
	} else {
		points = 1
	}
	var signals atomic.Int64
	sem := make(chan struct{}, max(*chaosParallel, 1))
	var wg sync.WaitGroup
	start := time.Now()
	for i := range points {
		seed := base + uint64(i)
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			// t.Run may be called from several goroutines; each returns
			// before this test does.
			t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
				n := e.point(t, seed, mode)
				signals.Add(int64(n))
			})
		}()
	}
	wg.Wait()
	<-e.refDone
	if e.refErr != nil {
		t.Fatal(e.refErr)
	}
	t.Logf("%d points, %d signals sent in all, in %v", points, signals.Load(), time.Since(start).Round(time.Millisecond))
	if !*chaosLong && *chaosSeed == 0 && signals.Load() < int64(points) {
		t.Errorf("only %d signals reached a running pipeline in %d points", signals.Load(), points)
	}
}

// point runs one point: a fresh pipeline, signalled and restarted until a
// run ends by itself, whose output must be the reference. It returns how
// many signals reached a running pipeline.
func (e *chaosEnv) point(t *testing.T, seed uint64, mode chaosMode) int {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	dir := t.TempDir()
	planned := 1 + rng.IntN(3)
	var history strings.Builder
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("%s\nhistory:\n%s\nrepeat with: go test -run '%s' -chaos.seed %d .",
			fmt.Sprintf(format, args...), history.String(), strings.Split(t.Name(), "/")[0], seed)
	}
	sent := 0
	for run := 1; ; run++ {
		if run > chaosMaxRuns {
			fail("no run ended by itself in %d runs", chaosMaxRuns)
		}
		p, err := e.start(dir)
		if err != nil {
			fail("run %d: %v", run, err)
		}
		what := ""
		if sent < planned {
			// A delay within the length of a whole run, so most signals
			// reach it; draws are made whether or not the run is still
			// going, so a seed always makes the same choices.
			// One in four falls in the first 200 ms: start-up, restore
			// and the first batches, where restarts go wrong.
			lo, hi := time.Duration(0), e.runLen
			if rng.IntN(4) == 0 {
				hi = 200 * time.Millisecond
			}
			if mode == modeTerm {
				lo = chaosTermReady
				hi = max(hi, lo+200*time.Millisecond)
			}
			delay := lo + time.Duration(rng.Int64N(int64(hi-lo)))
			victim := rng.IntN(len(chaosStages) + 2) // the last two: the whole group
			if mode == modeTerm && victim < len(chaosStages) {
				victim = 0 // a SIGTERM to an operator alone is its 5 s grace period: too slow here
			}
			if !p.wait(time.After(delay)) {
				sig := syscall.SIGKILL
				if mode == modeTerm {
					sig = syscall.SIGTERM
				}
				if victim < len(chaosStages) {
					what = fmt.Sprintf("%s to %s after %v", sigName(sig), chaosStages[victim][0], delay.Round(time.Millisecond))
					err = p.cmds[victim].Process.Signal(sig)
				} else {
					what = fmt.Sprintf("%s to the group after %v", sigName(sig), delay.Round(time.Millisecond))
					err = p.signalGroup(sig)
				}
				if err != nil && !errors.Is(err, os.ErrProcessDone) && !errors.Is(err, syscall.ESRCH) {
					p.kill()
					fail("run %d: %s: %v", run, what, err)
				}
				sent++
			} else {
				sent = planned // the run ended before the signal: it is the last
			}
		}
		if !p.wait(time.After(chaosRunTimeout)) {
			fmt.Fprintf(&history, "run %d: %s\n", run, what)
			fail("run %d hangs after %v: killed\n%s", run, chaosRunTimeout, p.report(p.kill()))
		}
		st := p.reap()
		fmt.Fprintf(&history, "run %d: %s; %v in %v\n", run, ifElse(what != "", what, "no signal"), st, time.Since(p.start).Round(time.Millisecond))
		switch {
		case what == "" || mode == modeTerm:
			// A run left alone, and a run stopped by SIGTERM, end
			// cleanly: every stage exits 0 with no error.
			if !allZero(st) || p.errorLines() != "" {
				fail("run %d (%s) failed\n%s", run, ifElse(what != "", what, "no signal"), p.report(st))
			}
		default:
			for _, line := range strings.Split(strings.TrimSpace(p.errorLines()), "\n") {
				if line != "" && !killedErrors.MatchString(line) {
					fail("run %d (%s): an error that a kill does not explain: %s\n%s", run, what, line, p.report(st))
				}
			}
		}
		if what == "" {
			break
		}
	}
	<-e.refDone
	if e.refErr != nil {
		t.Fatal(e.refErr)
	}
	diff := diffDirs(filepath.Join(e.ref, "out"), filepath.Join(dir, "out")) +
		diffFile("late.csv", filepath.Join(e.ref, "late.csv"), filepath.Join(dir, "late.csv"))
	if diff != "" {
		fail("the output differs from the reference run's:\n%s", diff)
	}
	if tmp, _ := filepath.Glob(filepath.Join(dir, "ck", "*", ".*.tmp*")); len(tmp) > 0 {
		// A killed write's temporary file is removed when its stage starts again.
		fail("%d temporary files left in the checkpoint directory: %v", len(tmp), tmp)
	}
	t.Logf("history:\n%s", history.String())
	return sent
}

// ifElse is cond ? a : b.
func ifElse[T any](cond bool, a, b T) T {
	if cond {
		return a
	}
	return b
}

// diffDirs lists the files missing from got, the extra ones (temporary
// files left behind included), and those that differ; "" when the
// directories hold the same files.
func diffDirs(want, got string) string {
	names := func(dir string) []string {
		entries, _ := os.ReadDir(dir)
		var n []string
		for _, e := range entries {
			n = append(n, e.Name())
		}
		return n
	}
	wantNames, gotNames := names(want), names(got)
	var b strings.Builder
	for _, n := range wantNames {
		if !slices.Contains(gotNames, n) {
			fmt.Fprintf(&b, "  missing: %s\n", n)
		}
	}
	for _, n := range gotNames {
		switch {
		case slices.Contains(wantNames, n):
		default:
			fmt.Fprintf(&b, "  extra: %s\n", n)
		}
	}
	for _, n := range wantNames {
		if slices.Contains(gotNames, n) {
			b.WriteString(diffFile(n, filepath.Join(want, n), filepath.Join(got, n)))
		}
	}
	return b.String()
}

// diffFile names the first line where two files differ; "" when they are
// equal.
func diffFile(name, want, got string) string {
	w, err1 := os.ReadFile(want)
	g, err2 := os.ReadFile(got)
	if err := errors.Join(err1, err2); err != nil {
		return fmt.Sprintf("  %s: %v\n", name, err)
	}
	if bytes.Equal(w, g) {
		return ""
	}
	wl, gl := strings.SplitAfter(string(w), "\n"), strings.SplitAfter(string(g), "\n")
	for i := 0; ; i++ {
		wi, gi := "(end of file)", "(end of file)"
		if i < len(wl) && wl[i] != "" {
			wi = fmt.Sprintf("%q", wl[i])
		}
		if i < len(gl) && gl[i] != "" {
			gi = fmt.Sprintf("%q", gl[i])
		}
		if wi != gi {
			return fmt.Sprintf("  %s differs at line %d: want %s, got %s\n", name, i+1, wi, gi)
		}
	}
}

// TestChaosKill kills -9 one stage, or the whole pipeline, at random
// points, restarts it, and checks the output against an uninterrupted run.
func TestChaosKill(t *testing.T) { chaosTest(t, modeKill) }

// TestChaosTerm stops the pipeline with SIGTERM (to produce, or to every
// stage at once) at random points: every stage exits 0, and the restarted
// pipeline's output is an uninterrupted run's.
func TestChaosTerm(t *testing.T) { chaosTest(t, modeTerm) }
