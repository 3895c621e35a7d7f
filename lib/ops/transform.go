package ops

import (
	"context"
	"fmt"

	"dstream/lib/frame"
	"dstream/lib/stage"
)

// Transform is Spark's DStream.transform with RDD.pipe: each batch goes
// through an external program.
var Transform = &stage.Spec{
	Name:      "transform",
	Usage:     "pipe each batch's records as text lines through a program and read the batch back (Spark's transform with RDD.pipe)",
	ArgsUsage: "-- CMD [ARGS...]",
	Description: `transform runs CMD once per batch, with ARGS as its arguments: no shell is
involved (run one yourself: -- sh -c '...'). Put the command after "--", so that
its own flags are not taken for transform's.

The command's stdin gets the batch's records, partition by partition, one line
each: VALUE, or KEY<TAB>VALUE for a keyed record (a record holding a newline is
an error). Each line of its stdout, in the order written, becomes a record of
the output batch, which has the input's time and interval and one partition.
Lines are unkeyed records, as RDD.pipe gives strings; with --keyed each line
is split at its first TAB into KEY and VALUE (a line without TAB is an error).
The environment has DSTREAM_TIME (the batch time, ms since the epoch) and
DSTREAM_INTERVAL (ms). A batch that comes in chunks is fed to one run of the
command as the chunks arrive.

The command runs for every batch, an empty one too (as RDD.pipe runs on an
empty partition: 'wc -l' then says 0); --skip-empty gives an empty batch
without running it. Its stderr passes through to transform's. An exit status
not in --ok-status (default 0), or death by a signal, stops the stage with an
error naming the batch, the status and the end of the command's stderr; grep,
which exits 1 when no line matched, wants --ok-status 0,1. A command that
stops reading its input early (head) is fine if its exit status is.

Examples:
   produce --batch 1s --queue a.txt b.txt | transform -- sort -n | sink
   produce --batch 1s --keyed --queue kv.txt | transform --keyed -- awk -F '\t' '{print $2 "\t" $1}' | sink
   produce --batch 1s --queue log.txt | transform --ok-status 0,1 -- grep ERROR | sink`,
	Flags:   commandFlags(),
	MinArgs: 1, MaxArgs: -1,
	Kind: stage.KindOperator,
	New: func(c *stage.Context) (any, error) {
		cmd, err := newCommand(c, c.Args().Slice())
		if err != nil {
			return nil, err
		}
		return &transform{c: cmd, out: frame.Batch{Partitions: make([]frame.Partition, 1)}}, nil
	},
}

type transform struct {
	c    *command
	slot cmdSlot
	run  *cmdRun // the command of a batch whose chunks are still coming
	fed  int     // records of that batch fed to it so far
	out  frame.Batch
}

func (t *transform) Process(_ context.Context, b *frame.Batch, out stage.Emitter) error {
	if err := t.process(b, out); err != nil {
		t.Close()
		return fmt.Errorf("batch %d: %w", b.Time, err)
	}
	return nil
}

func (t *transform) process(b *frame.Batch, out stage.Emitter) error {
	t.out.Time, t.out.Interval, t.out.More = b.Time, b.Interval, false
	if t.run == nil {
		if t.c.skipEmpty && b.Len() == 0 {
			// The command starts with the batch's first record; a batch
			// whose last chunk comes with none was empty.
			if b.More {
				return nil
			}
			t.out.Partitions[0].Records = nil
			return out.Emit(&t.out)
		}
		r, err := t.c.start(&t.slot, t.c.environ(b, -1), false)
		if err != nil {
			return err
		}
		t.run, t.fed = r, 0
	}
	for i := range b.Partitions {
		if err := t.run.feed(b.Partitions[i].Records, &t.fed); err != nil {
			return err
		}
	}
	if b.More {
		return nil
	}
	r := t.run
	t.run = nil
	if err := r.finish(); err != nil {
		return err
	}
	t.out.Partitions[0].Records = t.slot.recs
	return out.Emit(&t.out)
}

// Close stops a command left running by a failed batch.
func (t *transform) Close() error {
	if t.run != nil {
		t.run.kill()
		t.run = nil
	}
	return nil
}
