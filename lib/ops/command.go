package ops

// Running an external program over records, for transform and mappartitions
// (Spark's RDD.pipe). The program is executed directly with its argv, never
// through a shell. Its stdin gets the records as text lines (VALUE, or
// KEY<TAB>VALUE for a keyed record), written while another goroutine reads
// its stdout, so a big batch cannot deadlock the two pipes; the lines of its
// stdout, in order, become the output records. Its stderr is passed through
// to the stage's stderr a whole line at a time (commands running in parallel
// do not interleave mid-line), and its tail is kept for the error message
// when the command fails.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"dstream/lib/frame"
	"dstream/lib/stage"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"
)

// Environment variables a command gets besides the stage's own.
const (
	EnvTime      = "DSTREAM_TIME"      // the batch time, ms since the epoch
	EnvInterval  = "DSTREAM_INTERVAL"  // the batch interval, ms
	EnvPartition = "DSTREAM_PARTITION" // mappartitions: the partition, from 0
)

const (
	// stderrTailBytes and stderrTailLines bound the part of a failed
	// command's stderr quoted in the error.
	stderrTailBytes = 2 << 10
	stderrTailLines = 10
	// feedBuffer is how many bytes of lines are written to a command's
	// stdin at a time.
	feedBuffer = 64 << 10
	// waitDelay is how long, after the command exits, its stdout and
	// stderr may stay open (held by a process it left running) before the
	// stage gives up on them.
	waitDelay = 5 * time.Second
)

// commandFlags are the flags transform and mappartitions share. They are
// made afresh for each Spec because a cli.Flag holds its parsed state.
func commandFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "keyed", Usage: "split each output line at its first TAB into KEY and VALUE (else every line is an unkeyed record, as RDD.pipe gives strings)"},
		&cli.StringFlag{Name: "ok-status", Value: "0", Usage: "exit `STATUSES` (comma-separated) that count as success; grep exits 1 when nothing matched, so grep wants 0,1"},
		&cli.BoolFlag{Name: "skip-empty", Usage: "do not run the command on an empty input; its output is then empty (else it runs, as RDD.pipe does)"},
	}
}

// command is the program a stage runs, with its settings.
type command struct {
	prog      string   // argv[0] as given, for messages
	path      string   // the program found in $PATH
	argv      []string // argv[0] as given, then the arguments
	env       []string // the stage's environment, read once
	keyed     bool
	ok        [256]bool // exit statuses that count as success
	skipEmpty bool
	maxLine   int // longest output line: the frame size limit
	stderr    *sharedStderr
}

// newCommand makes the command argv, with the flags of commandFlags.
func newCommand(c *stage.Context, argv []string) (*command, error) {
	path, err := exec.LookPath(argv[0])
	if err != nil {
		var ee *exec.Error
		if errors.As(err, &ee) {
			err = ee.Err
		}
		// Found before any batch is read, so a misspelt program fails at
		// once, as any other mistake in the command line does.
		return nil, stage.Usagef("cannot run %q: %v", argv[0], err)
	}
	cmd := &command{
		prog: argv[0], path: path, argv: argv, env: os.Environ(),
		keyed: c.Bool("keyed"), skipEmpty: c.Bool("skip-empty"),
		maxLine: c.MaxFrameSize,
	}
	if cmd.maxLine <= 0 {
		cmd.maxLine = frame.DefaultMaxSize
	}
	var w io.Writer = io.Discard
	if c.Stderr != nil {
		w = c.Stderr
	}
	cmd.stderr = &sharedStderr{w: w}
	if err := parseOKStatus(c.String("ok-status"), &cmd.ok); err != nil {
		return nil, err
	}
	return cmd, nil
}

func parseOKStatus(s string, ok *[256]bool) error {
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 0 || n > 255 {
			return stage.Usagef("--ok-status %q: want exit statuses from 0 to 255, separated by commas, like 0,1", s)
		}
		ok[n] = true
	}
	return nil
}

// environ is the command's environment for one run: the stage's, with the
// batch's time and interval, and the partition when part >= 0. (exec keeps
// the last of repeated names, so these win over inherited ones.)
func (c *command) environ(b *frame.Batch, part int) []string {
	env := make([]string, len(c.env), len(c.env)+3)
	copy(env, c.env)
	env = append(env, EnvTime+"="+strconv.FormatInt(b.Time, 10), EnvInterval+"="+strconv.FormatInt(b.Interval, 10))
	if part >= 0 {
		env = append(env, EnvPartition+"="+strconv.Itoa(part))
	}
	return env
}

// cmdSlot holds the buffers of one command run, reused from batch to batch.
type cmdSlot struct {
	out   cmdOutput
	errs  stderrTail
	in    []byte         // lines waiting to be written to stdin
	other []byte         // lines waiting to be written to fd 3
	recs  []frame.Record // the output records, slices of out.buf
}

// cmdRun is one running command.
type cmdRun struct {
	c     *command
	s     *cmdSlot
	cmd   *exec.Cmd
	stdin cmdFeeder
	fd3   cmdFeeder // the second input of transformwith
}

// cmdFeeder writes lines to one of the command's inputs.
type cmdFeeder struct {
	w      io.WriteCloser
	buf    *[]byte
	closed bool // a write failed: the command stopped reading; feed no more
}

// start starts the command with its output going to s. With fd3 it has a
// second input, a pipe open on its file descriptor 3.
func (c *command) start(s *cmdSlot, env []string, fd3 bool) (*cmdRun, error) {
	s.out = cmdOutput{buf: s.out.buf[:0], max: c.maxLine}
	s.errs.reset(c.stderr)
	cmd := &exec.Cmd{
		Path: c.path, Args: c.argv, Env: env,
		Stdout: &s.out, Stderr: &s.errs,
		// Its own process group: a Ctrl-C meant for the pipeline reaches
		// the stages, which finish their batch and stop cleanly, instead
		// of killing the command in mid-batch.
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true},
		WaitDelay:   waitDelay,
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	r := &cmdRun{c: c, s: s, cmd: cmd, stdin: cmdFeeder{w: stdin, buf: &s.in}}
	var child *os.File
	if fd3 {
		if child, r.fd3.w, err = os.Pipe(); err != nil {
			stdin.Close()
			return nil, err
		}
		r.fd3.buf = &s.other
		cmd.ExtraFiles = []*os.File{child}
	}
	err = cmd.Start()
	if child != nil {
		child.Close() // the command's now; our copy would keep it open
	}
	if err != nil {
		r.fd3.close()
		return nil, fmt.Errorf("cannot run %q: %w", c.prog, err)
	}
	return r, nil
}

// feed writes recs to the command's stdin, one line each; *n counts the
// records fed, for the message about a record that cannot be a line.
func (r *cmdRun) feed(recs []frame.Record, n *int) error {
	return r.stdin.feed(recs, n)
}

func (f *cmdFeeder) feed(recs []frame.Record, n *int) error {
	buf := (*f.buf)[:0]
	for i := range recs {
		rec := &recs[i]
		if bytes.IndexByte(rec.Value, '\n') >= 0 || bytes.IndexByte(rec.Key, '\n') >= 0 {
			return fmt.Errorf("record %d holds a newline (the command reads one record per line)", *n)
		}
		*n++
		if rec.Keyed {
			buf = append(buf, rec.Key...)
			buf = append(buf, '\t')
		}
		buf = append(buf, rec.Value...)
		buf = append(buf, '\n')
		if len(buf) >= feedBuffer {
			f.write(buf)
			buf = buf[:0]
		}
	}
	f.write(buf)
	*f.buf = buf[:0]
	return nil
}

// write writes to the input. A failed write means the command closed it
// or exited (head does, and so does a command that reads nothing): the rest
// is not fed, and the exit status says whether that was success.
func (f *cmdFeeder) write(b []byte) {
	if f.closed || len(b) == 0 {
		return
	}
	if _, err := f.w.Write(b); err != nil {
		f.closed = true
	}
}

// close ends the input: the command reads EOF.
func (f *cmdFeeder) close() {
	if f.w != nil {
		f.w.Close()
	}
}

// finish closes the command's stdin, waits for it to exit and parses its
// output into r.s.recs.
func (r *cmdRun) finish() error {
	r.stdin.close()
	r.fd3.close()
	err := r.cmd.Wait()
	r.s.errs.flush()
	if r.s.out.err != nil {
		return r.s.out.err
	}
	if err != nil {
		var ee *exec.ExitError
		switch {
		case errors.As(err, &ee):
			ws, _ := ee.Sys().(syscall.WaitStatus)
			if ws.Signaled() {
				return r.failed(fmt.Sprintf("was killed by signal %s", unix.SignalName(ws.Signal())))
			}
			if code := ee.ExitCode(); code < 0 || code > 255 || !r.c.ok[code] {
				return r.failed(fmt.Sprintf("exited with status %d", code))
			}
		case errors.Is(err, exec.ErrWaitDelay):
			return fmt.Errorf("%s exited, but a process it started kept its stdout or stderr open for %v", r.c.prog, waitDelay)
		default:
			return fmt.Errorf("%s: %w", r.c.prog, err)
		}
	}
	return r.s.parse(r.c)
}

func (r *cmdRun) failed(what string) error {
	if tail := r.s.errs.last(); tail != "" {
		return fmt.Errorf("%s %s (stderr ends %q)", r.c.prog, what, tail)
	}
	return fmt.Errorf("%s %s (no stderr)", r.c.prog, what)
}

// kill stops a command whose batch failed, and whatever it started.
func (r *cmdRun) kill() {
	unix.Kill(-r.cmd.Process.Pid, unix.SIGKILL)
	r.stdin.close()
	r.fd3.close()
	r.cmd.Wait()
	r.s.errs.flush()
}

// parse splits the output into records, in order: one per line; a last
// line without a newline counts too.
func (s *cmdSlot) parse(c *command) error {
	recs := s.recs[:0]
	out := s.out.buf
	for n := 1; len(out) > 0; n++ {
		line := out
		if i := bytes.IndexByte(out, '\n'); i >= 0 {
			line, out = out[:i], out[i+1:]
		} else {
			out = nil
		}
		rec := frame.Record{Value: line[:len(line):len(line)]}
		if c.keyed {
			i := bytes.IndexByte(line, '\t')
			if i < 0 {
				s.recs = recs
				return fmt.Errorf("line %d of %s's output has no TAB (--keyed wants KEY<TAB>VALUE)", n, c.prog)
			}
			rec = frame.Record{Key: line[:i:i], Value: line[i+1 : len(line) : len(line)], Keyed: true}
		}
		recs = append(recs, rec)
	}
	s.recs = recs
	return nil
}

// cmdOutput collects a command's stdout and stops it at a line longer than
// max, which no frame could carry.
type cmdOutput struct {
	buf     []byte
	lineLen int // bytes since the last newline
	max     int
	err     error
}

func (o *cmdOutput) Write(p []byte) (int, error) {
	if o.err != nil {
		return 0, o.err
	}
	rest := p
	for {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			o.lineLen += len(rest)
			break
		}
		if o.lineLen+i > o.max {
			o.lineLen += i
			break
		}
		o.lineLen = 0
		rest = rest[i+1:]
	}
	if o.lineLen > o.max {
		// Returning an error closes the pipe: the command dies of
		// SIGPIPE at its next write instead of filling memory.
		o.err = fmt.Errorf("an output line is longer than the frame size limit of %d bytes (raise --%s)", o.max, stage.FlagMaxFrameSize)
		return 0, o.err
	}
	o.buf = append(o.buf, p...)
	return len(p), nil
}

// stderrTail passes a command's stderr through to the stage's, whole lines
// at a time, and keeps its last bytes.
type stderrTail struct {
	w    *sharedStderr
	pend []byte // a line not yet complete
	tail []byte // the last bytes written, up to 2*stderrTailBytes
}

func (s *stderrTail) reset(w *sharedStderr) {
	s.w, s.pend, s.tail = w, s.pend[:0], s.tail[:0]
}

func (s *stderrTail) Write(p []byte) (int, error) {
	s.tail = append(s.tail, p...)
	if len(s.tail) > 2*stderrTailBytes {
		s.tail = append(s.tail[:0], s.tail[len(s.tail)-stderrTailBytes:]...)
	}
	s.pend = append(s.pend, p...)
	if i := bytes.LastIndexByte(s.pend, '\n'); i >= 0 {
		s.w.Write(s.pend[:i+1])
		s.pend = append(s.pend[:0], s.pend[i+1:]...)
	} else if len(s.pend) >= feedBuffer {
		// A line without end must not hold memory without bound.
		s.w.Write(s.pend)
		s.pend = s.pend[:0]
	}
	return len(p), nil
}

// flush passes on a last line that has no newline, with one, so that the
// stage's own messages start on a line of their own.
func (s *stderrTail) flush() {
	if len(s.pend) > 0 {
		s.pend = append(s.pend, '\n')
		s.w.Write(s.pend)
		s.pend = s.pend[:0]
	}
}

// last returns the end of the stderr: its last stderrTailLines lines, at
// most stderrTailBytes, without the final newline.
func (s *stderrTail) last() string {
	t := bytes.TrimRight(s.tail, "\n")
	if len(t) > stderrTailBytes {
		t = t[len(t)-stderrTailBytes:]
	}
	end := len(t)
	for n := 0; n < stderrTailLines; n++ {
		i := bytes.LastIndexByte(t[:end], '\n')
		if i < 0 {
			return string(t)
		}
		end = i
	}
	return string(t[end+1:])
}

// sharedStderr is the stage's stderr, shared by commands running at once.
type sharedStderr struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *sharedStderr) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
