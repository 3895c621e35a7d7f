package ops

import (
	"context"
	"io"
	"strconv"

	"dstream/lib/frame"
	"dstream/lib/stage"

	"github.com/urfave/cli/v2"
)

// Print is Spark's DStream.print.
var Print = &stage.Spec{
	Name:  "print",
	Usage: "show the first elements of every batch, as Spark's DStream.print",
	Description: `For every batch, print writes a dashed line, "Time: T ms", a dashed line, the
first --num elements (a keyed record as (KEY,VALUE)), "..." when the batch has
more, and a blank line: byte for byte what Spark's DStream.print() shows.

Example:
   produce --generate transactions --no-delay --start 0 | print --num 3`,
	Flags: []cli.Flag{
		&cli.IntFlag{Name: "num", Value: 10, Usage: "elements to show per batch"},
	},
	Kind: stage.KindSink,
	New: func(c *stage.Context) (any, error) {
		n := c.Int("num")
		if n < 0 {
			return nil, stage.Usagef("--num %d: want 0 or more elements", n)
		}
		return &printer{num: n, w: c.Stdout}, nil
	},
}

type printer struct {
	num int
	w   io.Writer
	buf []byte
	// A batch may come in chunks: shown counts its elements so far, and
	// inBatch says a chunk with More was seen, so the header is out.
	shown   int
	inBatch bool
}

const dashes = "-------------------------------------------\n"

func (p *printer) Process(_ context.Context, b *frame.Batch, _ stage.Emitter) error {
	buf := p.buf[:0]
	if !p.inBatch {
		buf = append(buf, dashes...)
		buf = append(buf, "Time: "...)
		buf = strconv.AppendInt(buf, b.Time, 10)
		buf = append(buf, " ms\n"...)
		buf = append(buf, dashes...)
		p.shown = 0
	}
	p.inBatch = b.More
records:
	for _, part := range b.Partitions {
		for i := range part.Records {
			if p.shown >= p.num {
				if p.shown == p.num {
					buf = append(buf, "...\n"...)
					p.shown++ // "..." once per batch
				}
				break records
			}
			r := &part.Records[i]
			if r.Keyed {
				buf = append(buf, '(')
				buf = append(buf, r.Key...)
				buf = append(buf, ',')
				buf = append(buf, r.Value...)
				buf = append(buf, ")\n"...)
			} else {
				buf = append(buf, r.Value...)
				buf = append(buf, '\n')
			}
			p.shown++
		}
	}
	if !b.More {
		buf = append(buf, '\n')
	}
	p.buf = buf
	_, err := p.w.Write(buf)
	return err
}
