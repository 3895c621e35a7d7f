package stage

import (
	"io"
	"log/slog"

	"dstream/lib/checkpoint"
	"dstream/lib/frame"

	"github.com/urfave/cli/v2"
)

// Context is what a stage's constructor gets: its parsed flags and
// arguments (the embedded cli.Context) and the runtime's services.
type Context struct {
	*cli.Context
	Spec *Spec
	ID   string // the stage's checkpoint id: --id, else its name

	Stdin  io.Reader // a source's input; operators get batches instead
	Stdout io.Writer // a sink's output, flushed after every batch
	Stderr io.Writer

	Clock Clock
	Log   *slog.Logger
	// Checkpoint is the stage's checkpoint directory, nil without one.
	Checkpoint *checkpoint.Dir
	// Compress is the codec for frames this stage writes (--compress).
	Compress frame.Codec
	// MaxFrameSize is the frame size limit (--max-frame-size).
	MaxFrameSize int
}
