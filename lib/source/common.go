package source

import (
	"log/slog"

	"dstream/lib/frame"
	"dstream/lib/stage"
)

// Common is what every back end needs.
type Common struct {
	Interval   int64 // batch interval in ms, > 0
	Partitions int   // partitions per batch, >= 1
	MaxFrame   int   // the frame size limit: also the longest line
	Chunk      int   // record bytes per frame before a batch goes in chunks; 0: DefaultChunk
	Clock      stage.Clock
	Log        *slog.Logger
	// CP, when set, makes processing-time batching log its boundaries and
	// replay them after a restart (see Checkpoints).
	CP *Checkpoints
}

// DefaultChunk is the default of Common.Chunk: a 1 MiB frame fills a 1 MiB
// pipe buffer, and the next stage starts on it while the next is read.
const DefaultChunk = frame.DefaultChunk

// batcher returns a Batcher of c's interval, partitions and chunk size.
func (c Common) batcher() *Batcher {
	b := NewBatcher(c.Interval, c.Partitions)
	b.Chunk = c.chunk()
	return b
}

// chunk is the chunk size: Chunk, at most what fits in a frame.
func (c Common) chunk() int {
	n := c.Chunk
	if n <= 0 {
		n = DefaultChunk
	}
	return min(n, c.budget())
}

// budget is how many record bytes a batch may hold and still fit in a frame.
func (c Common) budget() int {
	return max(c.MaxFrame-64-32*c.Partitions, 1)
}
