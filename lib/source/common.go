package source

import (
	"log/slog"

	"dstream/lib/stage"
)

// Common is what every back end needs.
type Common struct {
	Interval   int64 // batch interval in ms, > 0
	Partitions int   // partitions per batch, >= 1
	MaxFrame   int   // the frame size limit: also the longest line
	Clock      stage.Clock
	Log        *slog.Logger
}

// budget is how many record bytes a batch may hold and still fit in a frame.
func (c Common) budget() int {
	return max(c.MaxFrame-64-32*c.Partitions, 1)
}
