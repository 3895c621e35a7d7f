package stage

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"dstream/lib/checkpoint"
	"dstream/lib/frame"

	"github.com/urfave/cli/v2"
)

// StopGrace is how long an operator waits, after a signal, for the STOP that
// its source sends when it got the same signal (a shell's Ctrl-C, systemd's
// SIGTERM reach every process of the pipeline). Waiting lets the batches
// already in the pipe through; a stage signalled alone stops after it.
const StopGrace = 5 * time.Second

// IO is what a run reads, writes and listens to. Main gives it the process's.
type IO struct {
	Stdin   io.Reader
	Stdout  io.Writer
	Stderr  io.Writer
	Signals <-chan os.Signal
	Clock   Clock
}

// Main runs the stage s with the process's arguments and standard files and
// returns the exit status. It is the only place that touches them.
func Main(s *Spec, args []string) int {
	enlargePipes()
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	return Run(s, args, IO{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Signals: sig, Clock: RealClock{}})
}

// MainMulti is the multi-call binary: the stage is named by the program name
// (a symlink called after the stage) or by the first argument.
func MainMulti(program string, specs []*Spec, args []string) int {
	return multi(program, specs, args, os.Stdout, os.Stderr, Main)
}

// multi is MainMulti with its outputs and the stage's main given.
func multi(program string, specs []*Spec, args []string, stdout, stderr io.Writer, main func(*Spec, []string) int) int {
	byName := map[string]*Spec{}
	for _, s := range specs {
		byName[s.Name] = s
	}
	if len(args) > 0 {
		if s, ok := byName[filepath.Base(args[0])]; ok {
			return main(s, args)
		}
	}
	if len(args) < 2 {
		listStages(stderr, program, specs)
		return ExitUsage
	}
	if args[1] == "-h" || args[1] == "--help" || args[1] == "help" {
		listStages(stdout, program, specs)
		return ExitOK
	}
	s, ok := byName[args[1]]
	if !ok {
		fmt.Fprintf(stderr, "%s: unknown stage %q (run '%s --help' for the list)\n", program, args[1], program)
		return ExitUsage
	}
	return main(s, args[1:])
}

func listStages(w io.Writer, program string, specs []*Spec) {
	fmt.Fprintf(w, "usage: %s STAGE [FLAGS] [ARGS]   (or call a symlink named after the stage)\n\nstages:\n", program)
	names := make([]string, 0, len(specs))
	usage := map[string]string{}
	for _, s := range specs {
		names = append(names, s.Name)
		usage[s.Name] = s.Usage
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-22s %s\n", n, usage[n])
	}
	fmt.Fprintf(w, "\n'%s STAGE --help' describes a stage.\n", program)
}

// Run runs the stage s with args (args[0] is the program name) and returns
// the exit status. Errors are printed as "STAGE: message".
func Run(s *Spec, args []string, sio IO) int {
	app := &cli.App{
		Name:            s.Name,
		HelpName:        s.Name,
		Usage:           s.Usage,
		UsageText:       usageText(s),
		Description:     s.Description,
		Flags:           append(append(append([]cli.Flag{}, s.Flags...), commonFlags(s)...), multiFlags(s)...),
		HideHelpCommand: true,
		Reader:          sio.Stdin,
		Writer:          sio.Stdout,
		ErrWriter:       sio.Stderr,
		ExitErrHandler:  func(*cli.Context, error) {},
		OnUsageError: func(c *cli.Context, err error, _ bool) error {
			return Usagef("%v (see '%s --help')", err, s.Name)
		},
		Action: func(c *cli.Context) error { return execute(c, s, sio) },
	}
	err := app.Run(flagsFirst(app.Flags, args))
	if err == nil {
		return ExitOK
	}
	var sx *signalExit
	if errors.As(err, &sx) {
		fmt.Fprintf(sio.Stderr, "%s: %v\n", s.Name, err)
		return 128 + int(sx.sig)
	}
	fmt.Fprintf(sio.Stderr, "%s: %s\n", s.Name, strings.TrimSpace(err.Error()))
	return exitCode(err)
}

// flagsFirst moves the flags found among the positional arguments in front
// of them: urfave/cli stops reading flags at the first argument, but
// "produce --queue a.txt b.txt --batches 3" reads naturally. "--" ends the
// flags; everything after it is an argument.
func flagsFirst(flags []cli.Flag, args []string) []string {
	if len(args) == 0 {
		return args
	}
	takesValue := map[string]bool{"help": false, "h": false}
	for _, f := range flags {
		_, isBool := f.(*cli.BoolFlag)
		for _, n := range f.Names() {
			takesValue[n] = !isBool
		}
	}
	out := []string{args[0]}
	var positional []string
	for i := 1; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			positional = append(positional, args[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			positional = append(positional, a)
			continue
		}
		// An unknown flag stays a flag, for cli to report.
		out = append(out, a)
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if takesValue[name] && !hasValue {
			if i+1 == len(args) {
				return out // for cli to report the missing value
			}
			i++
			out = append(out, args[i])
		}
	}
	if len(positional) > 0 {
		out = append(append(out, "--"), positional...)
	}
	return out
}

func usageText(s *Spec) string {
	if s.ArgsUsage == "" {
		return s.Name + " [flags]"
	}
	return s.Name + " [flags] " + s.ArgsUsage
}

// signalExit is a second signal: exit at once.
type signalExit struct{ sig syscall.Signal }

func (e *signalExit) Error() string {
	return fmt.Sprintf("second signal (%v): exiting at once", e.sig)
}

func hardStop(sig os.Signal) error {
	s, ok := sig.(syscall.Signal)
	if !ok {
		s = syscall.SIGINT
	}
	return &signalExit{sig: s}
}

func execute(c *cli.Context, s *Spec, sio IO) (err error) {
	if n := c.NArg(); n < s.MinArgs || (s.MaxArgs >= 0 && n > s.MaxArgs) {
		return argCountError(s, n)
	}
	codec, maxSize, err := parseCommon(c, s)
	if err != nil {
		return err
	}
	if sio.Clock == nil {
		sio.Clock = RealClock{}
	}
	log := slog.New(slog.NewTextHandler(sio.Stderr, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	})).With("stage", s.Name)
	id := c.String(FlagID)
	if id == "" {
		id = s.Name
	}
	ctx := &Context{
		Context: c, Spec: s, ID: id,
		Stdin: sio.Stdin, Stderr: sio.Stderr,
		Clock: sio.Clock, Log: log,
		Compress: codec, MaxFrameSize: maxSize,
	}
	if dir := c.String(FlagCheckpoint); dir != "" {
		if ctx.Checkpoint, err = checkpoint.Open(dir, id); err != nil {
			return err
		}
	} else if s.Stateful && !c.Bool(FlagEphemeral) {
		return Usagef("%s keeps state across batches and needs a checkpoint directory: give --checkpoint DIR or set %s, or --ephemeral to run without recovery on purpose", s.Name, EnvCheckpoint)
	}
	var stdout *bufio.Writer
	if s.Kind == KindSink {
		stdout = bufio.NewWriterSize(sio.Stdout, 1<<20)
		ctx.Stdout = stdout
	}
	st, err := s.New(ctx)
	if err != nil {
		return err
	}
	if cl, ok := st.(Closer); ok {
		// A stage whose resources fail to close (a file not flushed) may
		// have lost data: that is an error, not exit 0.
		defer func() {
			if cerr := cl.Close(); cerr != nil && err == nil {
				err = cerr
			}
		}()
	}
	out := frame.NewWriter(sio.Stdout, codec, maxSize)
	switch s.Kind {
	case KindSource:
		src, ok := st.(Source)
		if !ok {
			return fmt.Errorf("internal error: %s is not a Source", s.Name)
		}
		return runSource(src, out, sio)
	case KindMulti:
		m, ok := st.(MultiOperator)
		if !ok {
			return fmt.Errorf("internal error: %s is not a MultiOperator", s.Name)
		}
		r := &multiRun{operatorRun: operatorRun{ctx: ctx, st: st, out: out, sio: sio}, m: m}
		return r.run()
	default:
		op, ok := st.(Operator)
		if !ok {
			return fmt.Errorf("internal error: %s is not an Operator", s.Name)
		}
		r := &operatorRun{ctx: ctx, op: op, st: st, out: out, stdout: stdout, sio: sio}
		err := r.run()
		if stdout != nil {
			if ferr := stdout.Flush(); err == nil {
				err = ferr
			}
		}
		return err
	}
}

func argCountError(s *Spec, n int) error {
	want := fmt.Sprintf("%d", s.MinArgs)
	switch {
	case s.MaxArgs < 0:
		want = fmt.Sprintf("at least %d", s.MinArgs)
	case s.MaxArgs != s.MinArgs:
		want = fmt.Sprintf("%d to %d", s.MinArgs, s.MaxArgs)
	}
	args := "no arguments"
	if s.ArgsUsage != "" {
		args = s.ArgsUsage
	}
	return Usagef("want %s argument(s) (%s), got %d (see '%s --help')", want, args, n, s.Name)
}

// frameEmitter writes emitted batches as frames, a big batch in chunks.
type frameEmitter struct{ w *frame.Writer }

func (e frameEmitter) Emit(b *frame.Batch) error {
	return frame.Split(b, frame.DefaultChunk, e.w.WriteBatch)
}

func (e frameEmitter) EmitBarrier(b frame.Barrier) error { return e.w.WriteBarrier(b) }

// sinkEmitter is the Emitter of a sink, which has nothing downstream.
type sinkEmitter struct{}

func (sinkEmitter) Emit(*frame.Batch) error {
	return errors.New("internal error: a sink emitted a batch")
}

func runSource(src Source, out *frame.Writer, sio IO) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx, frameEmitter{out}) }()
	select {
	case err := <-done:
		if err != nil {
			return err
		}
		return out.WriteEOS()
	case <-sio.Signals:
		cancel()
	}
	select {
	case err := <-done:
		if err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
		return out.WriteStop()
	case sig := <-sio.Signals:
		return hardStop(sig)
	}
}

type operatorRun struct {
	ctx    *Context
	op     Operator
	st     any // the stage New built: its Snapshotter, BarrierHandler
	out    *frame.Writer
	stdout *bufio.Writer // a sink's stdout; nil for operators
	sio    IO
	// open is set while a batch is coming in chunks: the time of the
	// last chunk read, which had More.
	open   bool
	openAt int64
}

type readResult struct {
	f   *frame.Frame
	err error
}

func (r *operatorRun) run() error {
	ctx := context.Background()
	if err := r.restore(); err != nil {
		return err
	}
	// The reader runs in its own goroutine so signals are seen while it
	// blocks; it reads the next frame only when the last one is handled,
	// because frames share the reader's buffers.
	rd := frame.NewReader(r.sio.Stdin, r.ctx.MaxFrameSize)
	frames := make(chan readResult)
	next := make(chan struct{})
	quit := make(chan struct{})
	defer close(quit)
	go func() {
		for {
			f, err := rd.Next()
			select {
			case frames <- readResult{f, err}:
			case <-quit:
				return
			}
			if err != nil {
				return
			}
			select {
			case <-next:
			case <-quit:
				return
			}
		}
	}()
	var grace <-chan time.Time
	for {
		select {
		case res := <-frames:
			if res.err == io.EOF {
				return errors.New("input ended without EOS or STOP: the upstream stage stopped early (see its error)")
			}
			if res.err != nil {
				return fmt.Errorf("reading stdin: %w", res.err)
			}
			last := res.f.Type
			done, err := r.handle(ctx, res.f)
			if err != nil {
				return err
			}
			at := rd.Offset() // the reader waits for next: no race
			next <- struct{}{}
			if done {
				if grace != nil {
					return nil // stopping on a signal: the upstream is not waited for
				}
				// The stream must end here: frames after EOS or STOP
				// (two captured streams concatenated) would be lost.
				var res readResult
				select {
				case res = <-frames:
				case <-r.sio.Signals:
					return nil // done already; an upstream that stays open is not waited for
				}
				switch {
				case res.err == io.EOF:
					return nil
				case res.err != nil:
					return fmt.Errorf("reading stdin after %s: %w", last, res.err)
				}
				return fmt.Errorf("%s after %s at byte offset %d: the input holds more than one stream (replay captured streams with 'produce --frames')", frameName(res.f), last, at)
			}
		case sig := <-r.sio.Signals:
			if grace != nil {
				return hardStop(sig)
			}
			r.ctx.Log.Info("signal received; finishing when the source's STOP arrives", "signal", sig.String(), "grace", StopGrace.String())
			grace = r.sio.Clock.After(StopGrace)
		case <-grace:
			r.ctx.Log.Warn("no STOP from upstream within the grace period; stopping here (batches after the last checkpoint are replayed on restart)")
			return r.forward(func() error { return r.out.WriteStop() })
		}
	}
}

// handle processes one frame; done is true when the stream has ended.
func (r *operatorRun) handle(ctx context.Context, f *frame.Frame) (done bool, err error) {
	var emit Emitter = frameEmitter{r.out}
	if r.stdout != nil {
		emit = sinkEmitter{}
	}
	if r.open && (f.Type != frame.TypeBatch || f.Batch.Time != r.openAt) {
		return true, fmt.Errorf("batch %d ended without its last chunk: %s came next (the upstream stage broke the chunk protocol)", r.openAt, frameName(f))
	}
	switch f.Type {
	case frame.TypeBatch:
		r.open, r.openAt = f.Batch.More, f.Batch.Time
		if err := r.op.Process(ctx, f.Batch, emit); err != nil {
			return true, err
		}
		if r.stdout != nil {
			return false, r.stdout.Flush()
		}
		return false, nil
	case frame.TypeBarrier:
		return false, r.barrier(ctx, f.Barrier)
	case frame.TypeEOS:
		if fin, ok := r.op.(Finisher); ok {
			if err := fin.Finish(ctx, emit); err != nil {
				return true, err
			}
		}
		return true, r.forward(func() error { return r.out.WriteEOS() })
	case frame.TypeStop:
		return true, r.forward(func() error { return r.out.WriteStop() })
	}
	return true, fmt.Errorf("internal error: unexpected %s frame", f.Type)
}

func frameName(f *frame.Frame) string {
	if f.Type == frame.TypeBatch {
		return fmt.Sprintf("BATCH %d", f.Batch.Time)
	}
	return f.Type.String()
}

// forward writes a control frame downstream; a sink has no downstream.
func (r *operatorRun) forward(write func() error) error {
	if r.stdout != nil {
		return nil
	}
	return write()
}

func snapshotName(id uint64) string { return fmt.Sprintf("snapshot-%d", id) }

// barrier takes the stage's part of checkpoint b: save state, make output
// durable, then forward the barrier (or, in a sink, commit the checkpoint).
func (r *operatorRun) barrier(ctx context.Context, b frame.Barrier) error {
	dir := r.ctx.Checkpoint
	if sn, ok := r.st.(Snapshotter); ok && dir != nil {
		var buf bytes.Buffer
		if err := sn.Snapshot(&buf); err != nil {
			return fmt.Errorf("checkpoint %d: %w", b.ID, err)
		}
		meta := checkpoint.Meta{ID: b.ID, Stage: r.ctx.Spec.Name, Config: StateConfig(r.ctx.Context, r.ctx.Spec)}
		if err := dir.WriteFile(snapshotName(b.ID), checkpoint.EncodeSnapshot(meta, buf.Bytes())); err != nil {
			return fmt.Errorf("checkpoint %d: %w", b.ID, err)
		}
		if err := dir.PruneOlder("snapshot-", 0); err != nil {
			return fmt.Errorf("checkpoint %d: %w", b.ID, err)
		}
	}
	if bh, ok := r.st.(BarrierHandler); ok {
		if err := bh.Barrier(ctx, b); err != nil {
			return fmt.Errorf("checkpoint %d: %w", b.ID, err)
		}
	}
	if r.stdout != nil {
		if err := r.stdout.Flush(); err != nil {
			return err
		}
		if dir != nil {
			return dir.Commit(b.ID)
		}
		return nil
	}
	return r.out.WriteBarrier(b)
}

// restore loads the committed checkpoint's snapshot into a stateful
// operator. A snapshot that is missing, damaged, or taken with other
// arguments stops the stage: a silent fresh start would give wrong output.
// --reset-state is the way out, on purpose.
func (r *operatorRun) restore() error {
	dir := r.ctx.Checkpoint
	sn, ok := r.st.(Snapshotter)
	if !ok || dir == nil {
		return nil
	}
	n, ok, err := dir.Committed()
	if err != nil || !ok {
		return err
	}
	if r.ctx.Bool(FlagResetState) {
		r.ctx.Log.Warn("--reset-state: starting with empty state, not the committed checkpoint's", "checkpoint", n)
		return nil
	}
	const way = "give --reset-state to start this stage with empty state, or remove the checkpoint directory to start the pipeline over"
	path := filepath.Join(dir.Path, snapshotName(n))
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("restoring checkpoint %d: %w (the pipeline committed it, but this stage has no snapshot of it: is --checkpoint or --id different from the last run?); %s", n, err, way)
	}
	m, state, err := checkpoint.DecodeSnapshot(data)
	if err == nil && m.ID != n {
		err = fmt.Errorf("it holds checkpoint %d", m.ID)
	}
	if err != nil {
		return fmt.Errorf("restoring checkpoint %d: %s: %v; %s", n, path, err, way)
	}
	spec := r.ctx.Spec
	if config := StateConfig(r.ctx.Context, spec); m.Stage != spec.Name || m.Config != config {
		return fmt.Errorf("restoring checkpoint %d: %s was taken by '%s %s', this run is '%s %s': the state would be read wrongly; run with the arguments of the last run, or %s", n, path, m.Stage, m.Config, spec.Name, config, way)
	}
	if err := sn.Restore(bytes.NewReader(state)); err != nil {
		return fmt.Errorf("restoring checkpoint %d: %s: %w; %s", n, path, err, way)
	}
	return nil
}
