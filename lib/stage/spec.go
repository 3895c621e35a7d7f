// Package stage is the runtime every dstream stage runs in. It owns standard
// input and output, signals, checkpoints, logging and the mapping from errors
// to exit codes; a stage sees batches, an Emitter and its flags, never a file
// descriptor, a signal or a frame byte.
package stage

import (
	"context"
	"io"

	"dstream/lib/frame"

	"github.com/urfave/cli/v2"
)

// Kind says what a stage reads and writes.
type Kind int

const (
	// KindOperator reads frames on stdin and writes frames on stdout.
	KindOperator Kind = iota
	// KindSource writes frames on stdout and reads no frames.
	KindSource
	// KindSink reads frames on stdin and writes what it likes (text on
	// stdout, files); it does not forward control frames.
	KindSink
	// KindMulti reads frames on stdin and on the inputs its MultiOperator
	// names (union, join, cogroup) and writes frames on stdout; see multi.go.
	KindMulti
)

// Spec describes a stage. lib/ops.All lists every stage's Spec; the mains,
// the multi-call binary, --help and the tests read that table.
type Spec struct {
	Name        string // the Spark method's name in lower case
	Usage       string // one line: what the stage does
	ArgsUsage   string // positional arguments, for --help
	Description string // what it does in more detail, with an example
	Flags       []cli.Flag
	// MinArgs and MaxArgs bound the positional arguments; MaxArgs < 0
	// means no upper bound.
	MinArgs, MaxArgs int
	Kind             Kind
	// Stateful stages need a checkpoint directory or --ephemeral.
	Stateful bool
	// New builds the stage from its flags and arguments. It returns an
	// Operator (KindOperator, KindSink), a Source (KindSource) or a
	// MultiOperator (KindMulti). Errors
	// made with Usagef exit with status 2.
	New func(c *Context) (any, error)
}

// Emitter takes a stage's output batches. The runtime writes each one as a
// frame as soon as it is emitted; a batch may be reused once Emit returns.
type Emitter interface {
	Emit(b *frame.Batch) error
}

// BarrierEmitter is the Emitter a Source gets: besides batches it writes
// checkpoint barriers, each after the batches it covers.
type BarrierEmitter interface {
	Emitter
	EmitBarrier(b frame.Barrier) error
}

// Operator processes one batch at a time. The batch and its bytes are valid
// only during the call (see frame.Reader); Clone what must be kept.
//
// A big batch arrives in chunks (see package frame): Process is called once
// per chunk, with b.More set on all but the last. A per-record stage
// processes each chunk and emits its output with the same More; a stage
// that needs the whole batch gathers chunks until More is false.
type Operator interface {
	Process(ctx context.Context, b *frame.Batch, out Emitter) error
}

// MultiOperator is a stage with more than one input: stdin (input 0) and
// the files Inputs names (named pipes, /dev/fd/N from a shell's <(...)).
// The runtime reads each input in its own goroutine, gathers each batch
// whole (chunks and all), aligns the inputs by batch time and calls
// ProcessAligned with one whole batch per input, all of the same time, in
// input order. The batches are the runtime's to reuse once it returns.
// Finisher, BarrierHandler, Snapshotter and Closer apply as to an Operator.
type MultiOperator interface {
	Inputs() []string
	ProcessAligned(ctx context.Context, batches []*frame.Batch, out Emitter) error
}

// Finisher is an Operator that has output left at EOS (drained windows, a
// sink's last flush).
type Finisher interface {
	Finish(ctx context.Context, out Emitter) error
}

// BarrierHandler is an Operator that acts on a checkpoint barrier before it
// is forwarded: a sink makes its output durable up to the barrier's time.
type BarrierHandler interface {
	Barrier(ctx context.Context, b frame.Barrier) error
}

// Snapshotter is an Operator with state to checkpoint. The runtime calls
// Snapshot on every BARRIER and Restore at start when a committed checkpoint
// exists.
type Snapshotter interface {
	Snapshot(w io.Writer) error
	Restore(r io.Reader) error
}

// Closer is a stage that holds resources to release when the run ends,
// however it ends.
type Closer interface {
	Close() error
}

// Source produces a stream. Run returns nil when its input is exhausted (the
// runtime then writes EOS); when ctx is cancelled (SIGINT, SIGTERM) it stops
// reading, emits its last barrier if it checkpoints, and returns nil or
// ctx's error, and the runtime writes STOP. Its out is a BarrierEmitter.
type Source interface {
	Run(ctx context.Context, out Emitter) error
}
