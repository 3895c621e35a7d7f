package source

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"dstream/lib/kafka"

	kafkago "github.com/segmentio/kafka-go"
)

// Event time in a consumer group (--event-time timestamp --group G).
//
// A checkpoint's record holds, per partition, the lowest offset still
// waiting for a later batch (H), where reading stood (R) and the
// partition's watermark (W), as batch T went out (kafka_eventtime.go).
// The group gets H as the committed offset, with "dstream-event R T W" as
// its metadata: the member that reads the partition next starts at H and
// skips the records below R whose batch is T or before, which went out
// (or were late) in the member that committed. The records it reads that
// fall in a batch it already sent are late for it (--late FILE, or an
// error): the members' batch times follow their own partitions' data, so
// give a lateness that covers the skew between them.

// eventMetaPrefix starts the metadata an event-time member commits.
const eventMetaPrefix = "dstream-event "

// eventMeta is what an event-time member committed with a partition's
// offset: where reading stood, the time of the last batch out, and the
// partition's watermark (-1: none).
type eventMeta struct{ read, t, wm int64 }

func (m eventMeta) String() string {
	return fmt.Sprintf("%s%d %d %d", eventMetaPrefix, m.read, m.t, m.wm)
}

// parseEventMeta parses committed metadata; false when it is not an
// event-time member's.
func parseEventMeta(s string) (eventMeta, bool) {
	rest, ok := strings.CutPrefix(s, eventMetaPrefix)
	f := strings.Fields(rest)
	if !ok || len(f) != 3 {
		return eventMeta{}, false
	}
	var v [3]int64
	for j, x := range f {
		n, err := strconv.ParseInt(x, 10, 64)
		if err != nil || n < -1 {
			return eventMeta{}, false
		}
		v[j] = n
	}
	return eventMeta{v[0], v[1], v[2]}, v[0] >= 0
}

// eventCommits returns what checkpoint n gives the group in event time.
func (k *Kafka) eventCommits(n uint64) (int64, []kafka.Commit, error) {
	name := sourcePrefix + strconv.FormatUint(n, 10)
	b, err := k.cfg.CP.Dir.ReadFile(name)
	if err != nil {
		return 0, nil, err
	}
	first, _, _ := strings.Cut(string(b), "\n")
	f := strings.SplitN(first, " ", 3)
	var t int64
	var p *kafkaEventPoint
	if len(f) == 3 {
		if t, err = strconv.ParseInt(f[0], 10, 64); err == nil {
			p, err = parseEventPoint(f[2], true)
		}
	}
	if len(f) != 3 || err != nil || len(p.held) != len(k.ranges) {
		return 0, nil, fmt.Errorf("checkpoint %d: %q is not an event-time record of %d partitions", n, first, len(k.ranges))
	}
	commits := make([]kafka.Commit, len(p.held))
	for i := range p.held {
		commits[i] = kafka.Commit{Index: i, Offset: p.held[i], Metadata: eventMeta{p.read[i], t, p.wm[i]}.String()}
	}
	return t, commits, nil
}

// eventGroupStart sets up event time for a group member: the checkpoint's
// state when restarted. Reading starts in each generation (eventGeneration).
func (k *Kafka) eventGroupStart(e *kafkaEvent) error {
	cp := k.cfg.CP
	el := &kafkaEventLog{cp: cp, e: e}
	cp.ext = el
	rs, err := readEventResume(cp, true)
	if err != nil {
		return err
	}
	for i := range k.avail {
		k.avail[i], k.pos[i] = -1, -1
	}
	if rs.point != nil {
		if len(rs.point.held) != len(k.ranges) {
			return fmt.Errorf("restoring the checkpoint of batch %d: its record holds the offsets of %d partitions, the topics have %d: remove the checkpoint directory to start the pipeline over", cp.skipTo, len(rs.point.held), len(k.ranges))
		}
		e.restore(cp.skipTo, rs.point)
		copy(k.avail, rs.point.held)
	}
	return nil
}

// eventGeneration reads the partitions gen gives this member by event
// time, until the group takes them back (errRevoked), a stop (ctx's
// error) or, with --until-caught-up, their end (nil).
func (k *Kafka) eventGeneration(ctx, gctx context.Context, gen *kafkago.Generation, e *kafkaEvent) error {
	g := &k.group
	idx, err := k.assign(gen)
	if err != nil {
		return err
	}
	committed, err := k.cfg.Conn.GroupOffsets(ctx, k.client, k.cfg.Group.ID, k.ranges, idx)
	if err != nil {
		return ctxErr(ctx, err)
	}
	first, last, err := k.cfg.Conn.Bounds(ctx, k.client, k.ranges, idx)
	if err != nil {
		return ctxErr(ctx, err)
	}
	for i := range k.ranges {
		if !g.ours[i] && k.avail[i] >= 0 {
			e.drop(i) // another member's now: it reads the waiting records again
			k.avail[i] = -1
		}
		k.done[i] = !g.ours[i]
	}
	rs := make([]kafka.Range, len(k.ranges))
	copy(rs, k.ranges)
	for _, i := range idx {
		c := committed[i]
		m, hasMeta := parseEventMeta(c.Metadata)
		groupRead := c.Offset
		if hasMeta {
			groupRead = m.read
		}
		start := g.from[i]
		switch ours := max(k.avail[i], e.skip[i]); {
		case k.avail[i] >= 0 && (c.Offset < 0 || groupRead <= ours):
			start = k.avail[i] // ours before, and nobody read on
		case c.Offset >= 0:
			e.drop(i)
			start = c.Offset
			if hasMeta {
				e.skipFrom(i, m.read, m.t, m.wm)
			}
		default:
			e.drop(i)
		}
		if start, err = k.resumeAt(i, start, first[i], last[i]); err != nil {
			return err
		}
		k.avail[i], k.pos[i] = start, start
		rs[i].Start = start
		if !k.cfg.UntilCaughtUp {
			rs[i].End = -1
		}
	}
	e.setW()
	k.cfg.Log.Info("reading the partitions the consumer group gave", "group", k.cfg.Group.ID, "generation", gen.ID, "partitions", k.describe(idx))
	k.startReaders(rs, idx)

	end := endCaughtUp
	poll := time.NewTicker(commitPoll)
	defer poll.Stop()
loop:
	for k.live > 0 || !k.cfg.UntilCaughtUp {
		select {
		case <-ctx.Done():
			end = endStop
			break loop
		case <-gctx.Done():
			end = endRevoked
			break loop
		case <-poll.C:
			k.commitGroup(gen)
		case f := <-k.ch:
			if err := e.receive(f); err != nil {
				return err
			}
		}
	}
	// What was fetched and not taken in is read again: reading stands at avail.
	k.haltReaders()
	if end == endCaughtUp {
		if err := e.finish(); err != nil {
			return err
		}
	}
	if err := k.settle(gen); err != nil {
		return err
	}
	switch end {
	case endRevoked:
		k.cfg.Log.Info("the consumer group took the partitions back", "group", k.cfg.Group.ID, "generation", gen.ID)
		return errRevoked
	case endStop:
		return ctx.Err()
	}
	return nil
}

// commitPoll is how often a group member looks for a newly committed
// checkpoint whose offsets it commits to the group: the group lags the
// pipeline by this much at most, whatever the batch interval.
const commitPoll = 50 * time.Millisecond
