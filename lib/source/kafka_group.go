package source

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"dstream/lib/kafka"
	"dstream/lib/stage"

	kafkago "github.com/segmentio/kafka-go"
)

// Reading as a member of a consumer group (produce --kafka --group G).
//
// The group's coordinator shares the topics' partitions among the
// members; each generation of the group gives this member a set of them,
// with the offset the group committed for each. The member reads them and
// batches by processing time as without a group, and logs its batches in
// kafka.log over every partition of the topics, -1 for one it does not
// read. (By event time, see kafka_event_group.go.)
//
// Offsets are committed to the group end to end: only once the pipeline's
// sink has committed a checkpoint (DIR/committed), with the offsets of that
// checkpoint, for the partitions the member reads. The source looks for a
// new commit every commitPoll. When the group takes partitions back (a
// member joined or died) the member stops reading, sends the batch in hand,
// takes a checkpoint and waits (kafka.RevokeWait at most) for the sink to
// commit it, commits its offsets, and only then lets the group go on: the
// next member reads on from where this one's output ends. A stop (signal,
// --until-caught-up done) does the same before it leaves the group.
//
// Where a partition starts, each generation: where this member's batches
// took it to, when it was this member's before and the group has nothing
// newer; else the group's committed offset; else --from. After a restart
// the batches logged after the committed checkpoint are cut again as they
// were only when the group gave back every partition in them, at the
// checkpoint's offsets; otherwise (another member read on) they are not,
// and their records that are still this member's are read again into new
// batches.
type groupState struct {
	ours     []bool   // the partitions the generation gave this member
	at       []int64  // the group's committed offset per partition, -1: none known
	meta     []string // the metadata committed with at by this member
	restored []int64  // where the run's first reading resumes (the checkpoint's offsets)
	from     []int64  // --from's offset per partition
	commit   uint64   // the checkpoint whose offsets were committed last
	// commits returns what checkpoint n gives the group: its last batch's
	// time, and an offset (with metadata, by event time) per partition.
	commits func(n uint64) (t int64, commits []kafka.Commit, err error)
}

// errRevoked ends a generation whose partitions the group took back.
var errRevoked = errors.New("the group took the partitions back")

// checkpointer is a checkpointed source's emitter (cpEmitter): a back end
// that commits offsets to a consumer group takes a checkpoint when it
// must know what is committed.
type checkpointer interface {
	// checkpointNow emits a barrier when whole batches went out since the
	// last one and returns the number of the last barrier; ok is false
	// when none went out in this run.
	checkpointNow() (id uint64, ok bool, err error)
}

func (k *Kafka) runGroup(ctx context.Context, out stage.Emitter) error {
	if k.cfg.CP == nil {
		return fmt.Errorf("internal error: --group without a checkpoint directory")
	}
	var err error
	if !k.cfg.EventTime {
		if k.kl, err = openKafkaLog(k.cfg.CP); err != nil {
			return err
		}
	}
	ranges, err := k.cfg.Conn.Ranges(ctx, k.cfg.From, k.cfg.UntilCaughtUp)
	if err != nil {
		return ctxErr(ctx, err)
	}
	k.setup(ranges, out)
	defer k.close()
	g := &k.group
	n := len(ranges)
	g.ours, g.at, g.meta, g.from = make([]bool, n), make([]int64, n), make([]string, n), make([]int64, n)
	for i, r := range ranges {
		g.from[i] = r.Start
	}
	generation := k.generation
	if k.cfg.EventTime {
		e := newKafkaEvent(k)
		if err := k.eventGroupStart(e); err != nil {
			return err
		}
		if err := e.openLate(); err != nil {
			return err
		}
		defer e.late.close()
		g.commits = k.eventCommits
		generation = func(ctx, gctx context.Context, gen *kafkago.Generation) error {
			err := k.eventGeneration(ctx, gctx, gen, e)
			if err == nil {
				err = e.closeLate()
			}
			return err
		}
	} else {
		g.commits = k.logCommits
		if g.restored, err = k.kl.start(n, true); err != nil {
			return err
		}
		if g.restored == nil {
			g.restored = slices.Repeat([]int64{-1}, n)
		}
		copy(k.pos, g.restored)
		copy(k.avail, k.pos)
		if err := k.begin(); err != nil {
			return err
		}
	}

	group, err := k.cfg.Conn.NewGroup(k.cfg.Group)
	if err != nil {
		return fmt.Errorf("--group %s: %v", k.cfg.Group.ID, err)
	}
	defer group.Close()
	for failures := 0; ; {
		gen, err := group.Next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if failures++; failures >= 4*k.cfg.Conn.Retries {
				return fmt.Errorf("--group %s: joining the group failed %d times: %v", k.cfg.Group.ID, failures, err)
			}
			k.cfg.Log.Warn("joining the consumer group failed; trying again", "group", k.cfg.Group.ID, "err", err)
			continue
		}
		failures = 0
		done := make(chan error, 1)
		gen.Start(func(gctx context.Context) { done <- generation(ctx, gctx, gen) })
		if err := <-done; !errors.Is(err, errRevoked) {
			return err
		}
	}
}

// generation reads the partitions gen gives this member until the group
// takes them back (errRevoked), a stop (ctx's error) or, with
// --until-caught-up, their end (nil).
func (k *Kafka) generation(ctx, gctx context.Context, gen *kafkago.Generation) error {
	g := &k.group
	idx, err := k.assign(gen)
	if err != nil {
		return err
	}
	first, last, err := k.cfg.Conn.Bounds(ctx, k.client, k.ranges, idx)
	if err != nil {
		return ctxErr(ctx, err)
	}
	starts := slices.Repeat([]int64{-1}, len(k.ranges))
	for _, i := range idx {
		c, at := k.pos[i], g.at[i]
		switch {
		case c >= 0 && at <= c:
			starts[i] = c // ours before, and nobody read on
		case at >= 0:
			starts[i] = at
		default:
			starts[i] = g.from[i]
		}
		if starts[i], err = k.resumeAt(i, starts[i], first[i], last[i]); err != nil {
			return err
		}
	}
	copy(k.pos, starts)
	copy(k.avail, starts)
	if err := k.checkReplay(g.ours, g.restored); err != nil {
		return err
	}
	if err := k.kl.restart(k.pos); err != nil {
		return err
	}
	k.cfg.Log.Info("reading the partitions the consumer group gave", "group", k.cfg.Group.ID, "generation", gen.ID, "partitions", k.describe(idx))

	err = k.read(ctx, gctx.Done(), idx)
	if err != nil && !errors.Is(err, errRevoked) {
		return err // a stop in a replay leaves the rest of it for the next run
	}
	end := endRevoked
	if err == nil {
		poll := time.NewTicker(commitPoll)
		defer poll.Stop()
		if end, err = k.loop(ctx, gctx.Done(), poll.C, func() { k.commitGroup(gen) }); err != nil {
			return err
		}
	}
	if end == endRevoked {
		// What is staged is read again by whoever gets the partition; what
		// is in the batch in hand goes out now, as the batch of its time.
		k.stopReaders()
		if len(k.kl.replay) > 0 {
			if err := k.dropReplay(); err != nil {
				return err
			}
		} else {
			if err := k.p.emit(); err != nil {
				return err
			}
			k.p.next += k.p.interval
		}
		if err := k.settle(gen); err != nil {
			return err
		}
		k.cfg.Log.Info("the consumer group took the partitions back", "group", k.cfg.Group.ID, "generation", gen.ID)
		return errRevoked
	}
	if err := k.drain(); err != nil {
		return err
	}
	if err := k.p.flush(); err != nil {
		return err
	}
	if err := k.settle(gen); err != nil {
		return err
	}
	if end == endStop {
		return ctx.Err()
	}
	return nil
}

// assign notes the partitions gen gives this member (ours) and the
// group's committed offset of each (at), and returns their indexes.
func (k *Kafka) assign(gen *kafkago.Generation) ([]int, error) {
	g := &k.group
	clear(g.ours)
	for i := range g.at {
		g.at[i], g.meta[i] = -1, ""
	}
	index := make(map[kafka.Range]int, len(k.ranges))
	for i, r := range k.ranges {
		index[kafka.Range{Topic: r.Topic, Partition: r.Partition}] = i
	}
	var idx []int
	for topic, parts := range gen.Assignments {
		for _, a := range parts {
			i, ok := index[kafka.Range{Topic: topic, Partition: a.ID}]
			if !ok {
				return nil, fmt.Errorf("--group %s: the group gave this member topic %s partition %d, which was not there at start (partitions were added: restart produce to read them)", k.cfg.Group.ID, topic, a.ID)
			}
			g.ours[i] = true
			g.at[i] = max(a.Offset, -1)
			idx = append(idx, i)
		}
	}
	slices.Sort(idx)
	return idx, nil
}

// settle takes a checkpoint of what went out, waits for the sink to commit
// it, and commits its offsets to the group.
func (k *Kafka) settle(gen *kafkago.Generation) error {
	cp, ok := k.out.(checkpointer)
	if !ok {
		return fmt.Errorf("internal error: --group without a checkpointed emitter")
	}
	id, ok, err := cp.checkpointNow()
	if err != nil || !ok {
		return err
	}
	deadline := time.Now().Add(kafka.RevokeWait)
	for {
		n, ok, err := k.cfg.CP.Dir.Committed()
		if err != nil {
			return err
		}
		if ok && n >= id {
			break
		}
		if time.Now().After(deadline) {
			k.cfg.Log.Warn(fmt.Sprintf("checkpoint %d was not committed within %v: the group's offsets stay at the last commit, and records after them are read again (is the last stage run with the same checkpoint directory?)", id, kafka.RevokeWait), "group", k.cfg.Group.ID)
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	k.commitGroup(gen)
	return nil
}

// commitGroup commits to the group the offsets of the pipeline's newest
// committed checkpoint (with event time, the metadata that goes with them),
// for the partitions this member reads, where they are new. A failed
// commit is a warning: the member that reads a partition next reads again
// what came after the last commit (at-least-once).
func (k *Kafka) commitGroup(gen *kafkago.Generation) {
	g := &k.group
	n, ok, err := k.cfg.CP.Dir.Committed()
	if err != nil || !ok || n == g.commit {
		if err != nil {
			k.cfg.Log.Warn("reading the committed checkpoint", "err", err)
		}
		return
	}
	t, all, err := g.commits(n)
	if err != nil {
		k.cfg.Log.Warn("reading the committed checkpoint's offsets", "err", err)
		return
	}
	var commits []kafka.Commit
	for _, x := range all {
		i := x.Index
		if g.ours[i] && x.Offset >= 0 && x.Offset >= g.at[i] && (x.Offset > g.at[i] || x.Metadata != g.meta[i]) {
			commits = append(commits, x)
		}
	}
	if len(commits) > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := k.cfg.Conn.CommitGroup(ctx, k.client, gen, k.ranges, commits); err != nil {
			k.cfg.Log.Warn(fmt.Sprintf("committing the offsets of checkpoint %d to the group failed: %v (the member that reads these partitions next reads again what came after the last commit)", n, err), "group", k.cfg.Group.ID)
			return
		}
		for _, x := range commits {
			g.at[x.Index], g.meta[x.Index] = x.Offset, x.Metadata
		}
		// For whoever asks which batches the group has: those up to T.
		if err := k.cfg.CP.Dir.WriteFile(groupCommitName, fmt.Appendf(nil, "%d %d\n", n, t)); err != nil {
			k.cfg.Log.Warn("noting the group's commit", "err", err)
		}
	}
	g.commit = n
}

// logCommits returns what checkpoint n gives the group in processing
// time: the offsets after its last batch, at time t.
func (k *Kafka) logCommits(n uint64) (t int64, commits []kafka.Commit, err error) {
	x, err := k.kl.checkpointOffsets(n)
	if err != nil {
		return 0, nil, err
	}
	for i, o := range x.offs {
		commits = append(commits, kafka.Commit{Index: i, Offset: o})
	}
	return x.time, commits, nil
}

// groupCommitName is the file in the source's checkpoint directory that
// says which checkpoint's offsets the group got last: "N T\n", T the time
// of its last batch. A crash between the pipeline's commit and the
// group's leaves the group one checkpoint behind, and the batches after T
// are read again by the member that takes the partitions.
const groupCommitName = "group-commit"

// describe names the partitions at idx, as "t:0,1 u:2".
func (k *Kafka) describe(idx []int) string {
	var b []byte
	for j, i := range idx {
		r := k.ranges[i]
		switch {
		case j == 0:
			b = fmt.Appendf(b, "%s:%d", r.Topic, r.Partition)
		case k.ranges[idx[j-1]].Topic != r.Topic:
			b = fmt.Appendf(b, " %s:%d", r.Topic, r.Partition)
		default:
			b = fmt.Appendf(b, ",%d", r.Partition)
		}
	}
	if len(b) == 0 {
		return "none"
	}
	return string(b)
}
