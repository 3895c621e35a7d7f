package ops

import (
	"context"
	"fmt"
	"runtime"

	"dstream/lib/frame"
	"dstream/lib/stage"

	"github.com/urfave/cli/v2"
)

// MapPartitions is Spark's DStream.mapPartitions with RDD.pipe: each
// partition of each batch goes through an external program.
var MapPartitions = &stage.Spec{
	Name:      "mappartitions",
	Usage:     "pipe each partition's records as text lines through a program, partitions in parallel (Spark's mapPartitions with RDD.pipe)",
	ArgsUsage: "-- CMD [ARGS...]",
	Description: `mappartitions runs CMD once per partition of every batch, as Spark's RDD.pipe
does, up to --parallelism runs at a time (default: the number of CPUs). No shell is
involved (run one yourself: -- sh -c '...'). Put the command after "--", so that
its own flags are not taken for mappartitions's.

A partition is the whole partition of the batch: a batch that comes in chunks is
gathered first. The command's stdin gets the partition's records, one line each:
VALUE, or KEY<TAB>VALUE for a keyed record (a record holding a newline is an
error). Each line of its stdout, in the order written, becomes a record of the
same partition of the output batch, which has the input's time, interval and
partition count. Lines are unkeyed records, as RDD.pipe gives strings; with
--keyed each line is split at its first TAB into KEY and VALUE (a line without
TAB is an error). The environment has DSTREAM_TIME (the batch time, ms since the
epoch), DSTREAM_INTERVAL (ms) and DSTREAM_PARTITION (from 0).

The command runs for every partition, an empty one too (as RDD.pipe does:
'wc -l' then says 0); --skip-empty leaves an empty partition empty without
running it. Its stderr passes through to mappartitions's, a line at a time. An
exit status not in --ok-status (default 0), or death by a signal, stops the stage
with an error naming the batch, the partition, the status and the end of the
command's stderr; when several fail, the lowest partition is named. grep, which
exits 1 when no line matched, wants --ok-status 0,1.

Example (Spark's mapPartitions(x => Iterator(x.sum))):
   produce --batch 1s --partitions 2 --queue a.txt | mappartitions -- awk '{s += $1} END {print s + 0}' | sink`,
	Flags: append(commandFlags(),
		&cli.IntFlag{Name: "parallelism", Usage: "commands run at a time, `N` (0: the number of CPUs)"},
	),
	MinArgs: 1, MaxArgs: -1,
	Kind: stage.KindOperator,
	New:  newMapPartitions,
}

type mapPartitions struct {
	c     *command
	par   int
	g     stage.Gather
	slots []cmdSlot // one per partition
	errs  []error
	out   frame.Batch
}

func newMapPartitions(c *stage.Context) (any, error) {
	cmd, err := newCommand(c, c.Args().Slice())
	if err != nil {
		return nil, err
	}
	par := c.Int("parallelism")
	if par < 0 {
		return nil, stage.Usagef("--parallelism %d: want 1 or more commands at a time (or 0 for the number of CPUs)", par)
	}
	if par == 0 {
		par = runtime.NumCPU()
	}
	m := &mapPartitions{c: cmd, par: par}
	m.g.F = m.batch
	return m, nil
}

func (m *mapPartitions) Process(ctx context.Context, b *frame.Batch, out stage.Emitter) error {
	return m.g.Process(ctx, b, out)
}

// batch runs the command on each partition of a whole batch. Workers take
// the partitions in order and none starts after a failure, so every
// partition below a failed one has run: the error named, the lowest
// failure, is the same however the runs were timed.
func (m *mapPartitions) batch(_ context.Context, b *frame.Batch, out stage.Emitter) error {
	n := len(b.Partitions)
	for len(m.slots) < n {
		m.slots = append(m.slots, cmdSlot{})
	}
	m.errs = append(m.errs[:0], make([]error, n)...)
	inParallel(min(m.par, n), n, func(_, i int) error {
		m.errs[i] = m.partition(b, i)
		return m.errs[i]
	})
	for i, err := range m.errs {
		if err != nil {
			return fmt.Errorf("batch %d, partition %d: %w", b.Time, i, err)
		}
	}
	m.out.Time, m.out.Interval, m.out.More = b.Time, b.Interval, false
	m.out.Partitions = append(m.out.Partitions[:0], make([]frame.Partition, n)...)
	for i := range n {
		m.out.Partitions[i].Records = m.slots[i].recs
	}
	return out.Emit(&m.out)
}

// partition runs the command on partition i; its records end in m.slots[i].
func (m *mapPartitions) partition(b *frame.Batch, i int) error {
	s := &m.slots[i]
	recs := b.Partitions[i].Records
	if m.c.skipEmpty && len(recs) == 0 {
		s.recs = s.recs[:0]
		return nil
	}
	r, err := m.c.start(s, m.c.environ(b, i), false)
	if err != nil {
		return err
	}
	fed := 0
	if err := r.feed(recs, &fed); err != nil {
		r.kill()
		return err
	}
	return r.finish()
}
