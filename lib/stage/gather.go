package stage

import (
	"context"
	"fmt"

	"dstream/lib/frame"
)

// Gather adapts a function that needs a whole batch (an aggregation, a
// join) to an Operator: it keeps the chunks of a batch (see package frame)
// and calls F once with all of them, as one batch. A batch that comes in one
// frame goes to F as it is, with no copy.
type Gather struct {
	F   func(ctx context.Context, b *frame.Batch, out Emitter) error
	acc *frame.Batch // the chunks so far
}

// Process implements Operator.
func (g *Gather) Process(ctx context.Context, b *frame.Batch, out Emitter) error {
	if g.acc == nil && !b.More {
		return g.F(ctx, b, out)
	}
	if g.acc == nil {
		g.acc = b.Clone()
	} else {
		if len(b.Partitions) != len(g.acc.Partitions) {
			return fmt.Errorf("batch %d: a chunk of %d partitions after chunks of %d (the upstream stage broke the chunk protocol)", b.Time, len(b.Partitions), len(g.acc.Partitions))
		}
		c := b.Clone()
		for i := range c.Partitions {
			g.acc.Partitions[i].Records = append(g.acc.Partitions[i].Records, c.Partitions[i].Records...)
		}
	}
	if b.More {
		return nil
	}
	whole := g.acc
	g.acc = nil
	whole.More = false
	return g.F(ctx, whole, out)
}
