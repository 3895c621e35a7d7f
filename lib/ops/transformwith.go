package ops

import (
	"context"
	"fmt"

	"dstream/lib/frame"
	"dstream/lib/stage"
)

// TransformWith is Spark's DStream.transformWith with an external program:
// each pair of batches, one from stdin and one from another stream, goes
// through the program together.
var TransformWith = &stage.Spec{
	Name:      "transformwith",
	Usage:     "pipe the batches of stdin and another stream, time by time, through a program that reads one on stdin and the other on fd 3 (Spark's transformWith)",
	ArgsUsage: "OTHER -- CMD [ARGS...]",
	Description: `transformwith reads stdin and OTHER (a file of frames, a named pipe, or <(...)
in bash) and, for each batch time, runs CMD once with ARGS as its arguments: no
shell is involved (run one yourself: -- sh -c '...'). Put the command after
"--", so that its own flags are not taken for transformwith's.

The command gets stdin's batch on its stdin and OTHER's batch on file
descriptor 3 (open /dev/fd/3 to read it), both as text lines: VALUE, or
KEY<TAB>VALUE for a keyed record (a record holding a newline is an error).
Both are pipes, written at the same time, so the command may read them in
any order, but only once each. Each line of its stdout, in the order written,
becomes a record of the output batch, which has the batch time and interval
and one partition. Lines are unkeyed records; with --keyed each line is split
at its first TAB into KEY and VALUE (a line without TAB is an error). The
environment has DSTREAM_TIME (the batch time, ms since the epoch) and
DSTREAM_INTERVAL (ms).

The command runs for every batch time, when both batches are empty too;
--skip-empty gives an empty batch without running it then. Its stderr passes
through to transformwith's. An exit status not in --ok-status (default 0), or
death by a signal, stops the stage with an error naming the batch, the status
and the end of the command's stderr.

The inputs are aligned as union's and join's are: the same batch interval
and batch times, at most --max-skew batches read ahead, the output ends at
the first EOS, STOP on either input stops the stage.

Example (Spark's transformWith(other, (a, b) => a.join(b)), as join's [v,w]):
   produce --batch 1s --keyed --queue b1.txt b2.txt > other.frames
   produce --batch 1s --keyed --queue a1.txt a2.txt |
     transformwith other.frames --keyed -- awk -F '\t' \
       'FILENAME == "/dev/fd/3" {w[$1] = $2; next} $1 in w {print $1 "\t[" $2 "," w[$1] "]"}' /dev/fd/3 - |
     sink`,
	Flags:   commandFlags(),
	MinArgs: 2, MaxArgs: -1,
	Kind: stage.KindMulti,
	New: func(c *stage.Context) (any, error) {
		args := c.Args().Slice()
		cmd, err := newCommand(c, args[1:])
		if err != nil {
			return nil, err
		}
		return &transformWith{other: args[0], c: cmd, out: frame.Batch{Partitions: make([]frame.Partition, 1)}}, nil
	},
}

type transformWith struct {
	other string
	c     *command
	slot  cmdSlot
	out   frame.Batch
}

func (t *transformWith) Inputs() []string { return []string{t.other} }

func (t *transformWith) ProcessAligned(_ context.Context, bs []*frame.Batch, out stage.Emitter) error {
	a, b := bs[0], bs[1]
	t.out.Time, t.out.Interval, t.out.More = a.Time, a.Interval, false
	t.out.Partitions[0].Records = nil
	if !t.c.skipEmpty || a.Len()+b.Len() > 0 {
		if err := t.run(a, b); err != nil {
			return fmt.Errorf("batch %d: %w", a.Time, err)
		}
		t.out.Partitions[0].Records = t.slot.recs
	}
	return out.Emit(&t.out)
}

// run feeds a to the command's stdin while a goroutine feeds b to its fd 3,
// so a command may read either first.
func (t *transformWith) run(a, b *frame.Batch) error {
	r, err := t.c.start(&t.slot, t.c.environ(a, -1), true)
	if err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() {
		n := 0
		for i := range b.Partitions {
			if err := r.fd3.feed(b.Partitions[i].Records, &n); err != nil {
				done <- fmt.Errorf("%s: %w", t.other, err)
				return
			}
		}
		r.fd3.close()
		done <- nil
	}()
	n := 0
	var ferr error
	for i := range a.Partitions {
		if ferr = r.feed(a.Partitions[i].Records, &n); ferr != nil {
			ferr = fmt.Errorf("stdin: %w", ferr)
			break
		}
	}
	if ferr != nil {
		r.kill() // ends a blocked fd 3 write too
		<-done
		return ferr
	}
	r.stdin.close()
	if err := <-done; err != nil {
		r.kill()
		return err
	}
	return r.finish()
}
