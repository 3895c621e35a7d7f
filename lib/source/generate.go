package source

import (
	"bufio"
	"context"
	"io"
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"dstream/lib/enum"
	"dstream/lib/frame"
	"dstream/lib/stage"
)

// Generator names a built-in producer.
type Generator int

// Generators.
const (
	// GenTransactions is the seed's KafkaTransactionProducer.
	GenTransactions Generator = iota
)

var generatorNames = []string{"transactions"}

// UnmarshalText parses a generator name; its error lists the valid ones.
func (g *Generator) UnmarshalText(b []byte) error {
	v, err := enum.Parse[Generator]("generator", generatorNames, string(b))
	*g = v
	return err
}

// The seed's lists.
var (
	txAccounts     = []string{"123-ABC-789", "456-DEF-456", "333-XYZ-999", "987-CBA-321"}
	txDescriptions = []string{"Drug Store", "Grocery Store", "Electronics", "Park", "Gas", "Books", "Movies", "Misc"}
	txAmounts      = []float64{10.34, 94.65, 2.49, 306.21, 1073.12, 20.00, 7.92, 4322.33}
)

// TxSteps is how many lines the non-random producer sends: steps 0..100.
const TxSteps = 101

// GenerateConfig configures the transaction producer.
type GenerateConfig struct {
	Common
	Generator Generator
	// Random picks delays, accounts, descriptions and amounts at random
	// (the seed's RANDOMIZE=yes) and runs until cancelled or Count.
	Random bool
	Seed   uint64
	// Count, when > 0, stops after this many lines.
	Count int64
	// NoDelay sleeps not at all: a virtual clock starts at Start (ms) and
	// advances by each delay; lines are batched by their virtual send time.
	NoDelay bool
	Start   int64
	// Stderr takes "Sent -> LINE" for every line, as the seed prints.
	Stderr io.Writer
}

// Generate is the seed's transaction producer.
type Generate struct {
	cfg GenerateConfig
	rng *rand.Rand
}

// NewGenerate returns the generator source.
func NewGenerate(cfg GenerateConfig) *Generate {
	return &Generate{cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, 0))}
}

// next appends step's line (stamped with send,
// ms since the epoch, in UTC) to buf. The draws are in the seed's order.
func (g *Generate) next(buf []byte, step int64, send int64) []byte {
	var acct, desc string
	var amount float64
	if g.cfg.Random {
		acct = txAccounts[g.rng.IntN(len(txAccounts))]
		desc = txDescriptions[g.rng.IntN(len(txDescriptions))]
		amount = math.Floor((float64(g.rng.IntN(5000))+g.rng.Float64())*100) / 100
	} else {
		acct = txAccounts[step%int64(len(txAccounts))]
		desc = txDescriptions[step%int64(len(txDescriptions))]
		amount = txAmounts[step%int64(len(txAmounts))]
	}
	buf = strconv.AppendInt(buf, step, 10)
	buf = append(buf, ',')
	buf = time.UnixMilli(send).UTC().AppendFormat(buf, "01/02/2006")
	buf = append(buf, ',')
	buf = append(buf, acct...)
	buf = append(buf, ',')
	buf = AppendScalaDouble(buf, amount)
	buf = append(buf, ',')
	return append(buf, desc...)
}

// delay returns the wait before step is sent, in ms.
func (g *Generate) delay(step int64) int64 {
	if g.cfg.Random {
		return int64(g.rng.IntN(5000)) // up to 5 seconds
	}
	return (step + 1) * 50
}

// done tells whether step is past the end.
func (g *Generate) done(step int64) bool {
	if g.cfg.Count > 0 && step >= g.cfg.Count {
		return true
	}
	return !g.cfg.Random && step >= TxSteps
}

// AppendScalaDouble appends v as Scala's Double.toString prints it for the
// amounts here: the shortest form that reads back as v, with ".0" when it
// is integral (20.0, not 20).
func AppendScalaDouble(buf []byte, v float64) []byte {
	n := len(buf)
	buf = strconv.AppendFloat(buf, v, 'f', -1, 64)
	for _, c := range buf[n:] {
		if c == '.' {
			return buf
		}
	}
	return append(buf, ".0"...)
}

// Run implements stage.Source.
func (g *Generate) Run(ctx context.Context, out stage.Emitter) error {
	sent := bufio.NewWriter(g.cfg.Stderr)
	defer sent.Flush()
	if g.cfg.NoDelay {
		return g.runVirtual(ctx, out, sent)
	}
	return g.runTimed(ctx, out, sent)
}

var sentPrefix = []byte("Sent -> ")

func (g *Generate) runVirtual(ctx context.Context, out stage.Emitter, sent *bufio.Writer) error {
	// Flushing "Sent" lines before each batch keeps them in step with it.
	flushing := emitFunc(func(b *frame.Batch) error {
		if err := sent.Flush(); err != nil {
			return err
		}
		return out.Emit(b)
	})
	eb := newEventBatcher(g.cfg.Common, 0, flushing, nil)
	var line []byte
	vt := g.cfg.Start
	for step := int64(0); !g.done(step); step++ {
		if step%1024 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		vt += g.delay(step)
		line = g.next(line[:0], step, vt)
		sent.Write(sentPrefix)
		sent.Write(line)
		sent.WriteByte('\n')
		if err := eb.add(ctx, vt, nil, false, line); err != nil {
			return err
		}
	}
	if err := eb.finish(ctx); err != nil {
		return err
	}
	return sent.Flush()
}

func (g *Generate) runTimed(ctx context.Context, out stage.Emitter, sent *bufio.Writer) error {
	pt := newProcTime(g.cfg.Common, out)
	timer := pt.timer()
	var line []byte
	for step := int64(0); !g.done(step); step++ {
		wait := g.cfg.Clock.After(time.Duration(g.delay(step)) * time.Millisecond)
	sleep:
		for {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-timer:
				if err := pt.tick(); err != nil {
					return err
				}
				timer = pt.timer()
			case <-wait:
				break sleep
			}
		}
		line = g.next(line[:0], step, g.cfg.Clock.Now().UnixMilli())
		sent.Write(sentPrefix)
		sent.Write(line)
		sent.WriteByte('\n')
		if err := sent.Flush(); err != nil {
			return err
		}
		if err := pt.add(nil, false, line); err != nil {
			return err
		}
	}
	return pt.flush()
}

// emitFunc is an Emitter made of a function.
type emitFunc func(b *frame.Batch) error

func (f emitFunc) Emit(b *frame.Batch) error { return f(b) }
