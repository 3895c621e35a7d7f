package source

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"sync"
	"time"

	"dstream/lib/kafka"
	"dstream/lib/stage"
	"dstream/lib/text"

	kafkago "github.com/segmentio/kafka-go"
)

// KafkaConfig configures produce --kafka.
type KafkaConfig struct {
	Common
	Conn kafka.Config
	From kafka.From
	// UntilCaughtUp reads up to the end offsets of the partitions at start,
	// then ends the stream (EOS).
	UntilCaughtUp bool
	// WithMeta makes each value a JSON object of the record's topic,
	// partition, offset, timestamp and value.
	WithMeta bool
	// Group, when its ID is set, makes produce a member of a consumer
	// group (kafka_group.go): it reads the partitions the group gives it.
	// It needs Common.CP: offsets are committed with checkpoints.
	Group kafka.Group
	// EventTime batches by the records' Kafka timestamps instead of by
	// processing time (kafka_eventtime.go): batch T holds the records
	// stamped in [T-D, T), out once the watermark passes T + Lateness
	// (ms); a record whose batch went out is appended to the Late file,
	// or with none fails produce.
	EventTime bool
	Lateness  int64
	Late      string
}

// Kafka reads the partitions of its topics: every one, or with a
// consumer group those the group gives it (kafka_group.go), taking part
// in checkpoints by offsets (kafka_checkpoint.go) when Common.CP is set,
// batched by processing time: batch T holds what arrived in [T-D, T).
// Within a batch (each chunk of a big one) records are grouped by topic,
// in --topic order, then by partition number, each partition's in offset
// order, so the order of a batch does not depend on which partition's
// fetch came first.
type Kafka struct {
	cfg     KafkaConfig
	meta    []byte
	partStr []string // "topic","partition" JSON prefix per partition

	// ranges are every partition of the topics, in --topic order, then by
	// partition number: the index of the slices below and of the logs.
	ranges []kafka.Range
	p      *procTime
	kl     *kafkaLog
	out    stage.Emitter
	client *kafkago.Client
	ch     chan kafka.Fetched
	rctx   context.Context    // the readers'
	stop   context.CancelFunc // stops the readers
	wg     sync.WaitGroup
	live   int // readers not done
	size   int // record bytes staged
	// Per partition: the records fetched and not yet in a batch; the
	// offset reading got to; the offset the batches took up to; whether
	// its reader is done. avail and pos are -1 for a partition this
	// member does not read (another member of its group does).
	staged [][]kafka.Record
	avail  []int64
	pos    []int64
	done   []bool

	group groupState
}

// NewKafka returns the Kafka source.
func NewKafka(cfg KafkaConfig) *Kafka { return &Kafka{cfg: cfg} }

// Run implements stage.Source.
func (k *Kafka) Run(ctx context.Context, out stage.Emitter) error {
	switch {
	case k.cfg.Group.ID != "":
		return k.runGroup(ctx, out)
	case k.cfg.EventTime:
		return k.runEvent(ctx, out)
	}
	from, caughtUp := k.cfg.From, k.cfg.UntilCaughtUp
	if cp := k.cfg.CP; cp != nil {
		var err error
		if k.kl, err = openKafkaLog(cp); err != nil {
			return err
		}
		if k.kl.resume() {
			// The earliest and end offsets, to check the restored ones.
			from, caughtUp = kafka.From{Kind: kafka.FromEarliest}, true
		}
	}
	ranges, err := k.cfg.Conn.Ranges(ctx, from, caughtUp)
	if err != nil {
		return ctxErr(ctx, err)
	}
	k.setup(ranges, out)
	defer k.close()
	all := make([]int, len(ranges))
	ours := make([]bool, len(ranges))
	for i, r := range ranges {
		all[i], ours[i] = i, true
		k.pos[i] = r.Start
	}
	if k.kl != nil {
		restored, err := k.kl.start(len(ranges), false)
		if err != nil {
			return err
		}
		if k.kl.resume() {
			for i, r := range ranges {
				if k.pos[i], err = k.resumeAt(i, restored[i], r.Start, r.End); err != nil {
					return err
				}
			}
			if err := k.checkReplay(ours, restored); err != nil {
				return err
			}
		}
		if !k.cfg.UntilCaughtUp {
			for i := range ranges {
				ranges[i].End = -1
			}
		}
	}
	copy(k.avail, k.pos)
	if err := k.begin(); err != nil {
		return err
	}
	if err := k.read(ctx, nil, all); err != nil {
		return err
	}
	end, err := k.loop(ctx, nil, nil, nil)
	if err != nil {
		return err
	}
	if err := k.drain(); err != nil {
		return err
	}
	if err := k.p.flush(); err != nil {
		return err
	}
	if end == endStop {
		return ctx.Err()
	}
	return nil
}

// ctxErr is err, or the context's error when it ended: a stop, not a failure.
func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// resumeAt checks the offset o that partition i resumes at against the
// offsets Kafka has, first to end: outside them the records were deleted
// (or the topic made again), which --on-data-loss decides about.
func (k *Kafka) resumeAt(i int, o, first, end int64) (int64, error) {
	if o >= first && o <= end {
		return o, nil
	}
	r := k.ranges[i]
	msg := fmt.Sprintf("topic %s partition %d: reading is to resume at offset %d, but Kafka has offsets %d to %d only (retention deleted them, or the topic was made again)", r.Topic, r.Partition, o, first, end)
	if k.cfg.Conn.OnDataLoss == kafka.DataLossFail {
		return 0, fmt.Errorf("%s; --on-data-loss earliest goes on at offset %d, or remove the checkpoint directory to start the pipeline over", msg, first)
	}
	k.cfg.Log.Warn(msg+"; going on at the earliest offset (--on-data-loss earliest)", "topic", r.Topic, "partition", r.Partition)
	return first, nil
}

// setup makes the reading state for ranges, emitting to out.
func (k *Kafka) setup(ranges []kafka.Range, out stage.Emitter) {
	n := len(ranges)
	k.ranges, k.out = ranges, out
	for _, r := range ranges {
		topic := string(text.AppendJSONString(nil, []byte(r.Topic)))
		k.partStr = append(k.partStr, `{"topic":`+topic+`,"partition":`+strconv.Itoa(r.Partition)+`,"offset":`)
	}
	k.client = k.cfg.Conn.Client()
	// A small channel, so that readers wait when the pipeline is slower
	// than Kafka.
	k.ch = make(chan kafka.Fetched, n)
	k.staged = make([][]kafka.Record, n)
	k.avail, k.pos, k.done = make([]int64, n), make([]int64, n), make([]bool, n)
	k.p = newProcTime(k.cfg.Common, out)
	if k.kl != nil {
		k.kl.pos = k.pos
		if k.kl.cp.restarted {
			// Restarted within the committed batch's interval: the clock's
			// batch would be taken for the committed one, and left out.
			k.p.next = max(k.p.next, k.kl.cp.skipTo+k.p.interval)
		}
	}
}

func (k *Kafka) close() {
	k.stopReaders()
	kafka.CloseClient(k.client)
}

// begin writes the log's start line, once the start offsets are known.
func (k *Kafka) begin() error {
	if k.kl == nil {
		return nil
	}
	return k.kl.begin(k.pos)
}

// checkReplay drops the logged batches still to replay when they cannot be
// cut again from pos (see kafkaLog.replayFits): their records are read
// again into new batches, after them. ours marks the partitions read here.
func (k *Kafka) checkReplay(ours []bool, restored []int64) error {
	if len(k.kl.replay) == 0 || k.kl.replayFits(ours, restored, k.pos) {
		return nil
	}
	return k.dropReplay()
}

// dropReplay gives up making the logged batches still to replay again.
func (k *Kafka) dropReplay() error {
	n := len(k.kl.replay)
	last, err := k.kl.dropReplay()
	if err != nil {
		return err
	}
	k.p.next = max(k.p.next, last+k.p.interval)
	k.cfg.Log.Warn(fmt.Sprintf("the %d batches after the committed checkpoint are not made again as they were: their partitions moved to other members of the group, or lost records were skipped; what they held is read again into new batches", n))
	return nil
}

// startReaders starts a reader of each range of rs at idx not read to
// its end.
func (k *Kafka) startReaders(rs []kafka.Range, idx []int) {
	if k.stop == nil {
		k.rctx, k.stop = context.WithCancel(context.Background())
	}
	for _, i := range idx {
		r := rs[i]
		if k.done[i] = r.End >= 0 && r.Start >= r.End; !k.done[i] {
			k.live++
			k.wg.Go(func() { k.cfg.Conn.Read(k.rctx, k.client, i, r, k.ch) })
		}
	}
}

// stopReaders stops the readers and drops what they fetched that is not
// in a batch: the next reading starts again at pos.
func (k *Kafka) stopReaders() {
	k.haltReaders()
	for i := range k.staged {
		clear(k.staged[i])
		k.staged[i] = k.staged[i][:0]
		k.avail[i], k.done[i] = k.pos[i], true
	}
	k.live, k.size = 0, 0
}

// haltReaders stops the readers and drops what they sent that was not
// received: reading starts again at avail.
func (k *Kafka) haltReaders() {
	if k.stop == nil {
		return
	}
	k.stop()
	k.wg.Wait()
	k.stop = nil
	for len(k.ch) > 0 {
		<-k.ch
	}
	k.live = 0
}

// read starts reading the partitions at idx from pos: after a restart it
// first cuts the logged batches again (replay), with readers that stop at
// the last logged batch's offsets, so that a partition ahead of another
// one the batch waits for does not fetch on into live records meanwhile
// and what is held stays within the logged batches; then it starts the
// live readers. revoked ends a replay early (errRevoked).
func (k *Kafka) read(ctx context.Context, revoked <-chan struct{}, idx []int) error {
	rs := slices.Clone(k.ranges)
	for _, i := range idx {
		rs[i].Start = k.pos[i]
	}
	if k.kl == nil || len(k.kl.replay) == 0 {
		k.startReaders(rs, idx)
		return nil
	}
	last := k.kl.replay[len(k.kl.replay)-1].offs
	bounded := slices.Clone(rs)
	for _, i := range idx {
		if last[i] < 0 {
			bounded[i].End = bounded[i].Start // not in the logged batches
		} else {
			bounded[i].End = last[i]
		}
	}
	k.startReaders(bounded, idx)
	if err := k.replay(ctx, revoked); err != nil {
		return err
	}
	for k.live > 0 { // the replay readers' Done
		if err := k.await(ctx, revoked); err != nil {
			return err
		}
	}
	for _, i := range idx {
		rs[i].Start = k.pos[i]
	}
	k.startReaders(rs, idx)
	return nil
}

// await takes in the next thing a reader sends, unless a stop or revoked
// comes first.
func (k *Kafka) await(ctx context.Context, revoked <-chan struct{}) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-revoked:
		return errRevoked
	case f := <-k.ch:
		return k.receive(f)
	}
}

// replay cuts the logged batches after the committed checkpoint again:
// batch T goes out once every partition was read to its logged offset,
// with what each took below it. Then the clock cuts, from the batch after
// the last logged one. A stop in the middle leaves the rest for the next
// restart (it is still in the log).
func (k *Kafka) replay(ctx context.Context, revoked <-chan struct{}) error {
	kl, p := k.kl, k.p
	for len(kl.replay) > 0 {
		x := kl.replay[0]
		ready := true
		for i, r := range k.ranges {
			if k.avail[i] < x.offs[i] {
				if k.done[i] {
					return fmt.Errorf("topic %s partition %d: batch %d took records up to offset %d before the restart, but the partition ends at %d now", r.Topic, r.Partition, x.time, x.offs[i], k.avail[i])
				}
				ready = false
			}
		}
		if !ready {
			if err := k.await(ctx, revoked); err != nil {
				return err
			}
			continue
		}
		for i := range k.ranges {
			if err := k.take(i, x.offs[i]); err != nil {
				return err
			}
		}
		p.next = x.time
		kl.replaying = true
		err := p.emit()
		kl.replaying = false
		if err != nil {
			return err
		}
		kl.replay = kl.replay[1:]
	}
	p.next = max(p.next+p.interval, batchOf(p.clock.Now().UnixMilli(), p.interval))
	return nil
}

// loopEnd is why loop returned.
type loopEnd int

const (
	endStop     loopEnd = iota // the context ended: a signal
	endCaughtUp                // --until-caught-up: every reader is done
	endRevoked                 // the group took the partitions back
)

// loop batches what the readers fetch, by the clock, until a stop, the
// end of reading (--until-caught-up) or revoked; onPoll runs at every
// tick of poll.
func (k *Kafka) loop(ctx context.Context, revoked <-chan struct{}, poll <-chan time.Time, onPoll func()) (loopEnd, error) {
	timer := k.p.timer()
	for k.live > 0 || !k.cfg.UntilCaughtUp {
		select {
		case <-ctx.Done():
			return endStop, nil
		case <-revoked:
			return endRevoked, nil
		case <-poll:
			onPoll()
		case <-timer:
			if err := k.drain(); err != nil {
				return 0, err
			}
			if err := k.p.tick(); err != nil {
				return 0, err
			}
			timer = k.p.timer()
		case f := <-k.ch:
			if err := k.receive(f); err != nil {
				return 0, err
			}
			// A big batch goes out in chunks, each in partition order.
			if k.size >= k.p.chunk {
				if err := k.drain(); err != nil {
					return 0, err
				}
			}
		}
	}
	return endCaughtUp, nil
}

// receive takes in what a reader sent.
func (k *Kafka) receive(f kafka.Fetched) error {
	i := f.Index
	switch {
	case f.Err != nil:
		return f.Err
	case f.Done:
		k.live--
		k.done[i] = true
		return nil
	case f.Lost:
		k.warnLost(i, f.Next)
	}
	k.staged[i] = append(k.staged[i], f.Records...)
	k.avail[i] = f.Next
	for j := range f.Records {
		k.size += len(f.Records[j].Key) + len(f.Records[j].Value)
	}
	return nil
}

// warnLost says that partition i's records from where reading stood to
// next were deleted before they were read (--on-data-loss earliest).
func (k *Kafka) warnLost(i int, next int64) {
	r := k.ranges[i]
	k.cfg.Log.Warn(fmt.Sprintf("topic %s partition %d: offsets %d to %d were deleted (retention) before they were read; going on at %d (--on-data-loss earliest)", r.Topic, r.Partition, k.avail[i], next, next),
		"topic", r.Topic, "partition", r.Partition, "skipped", next-k.avail[i])
}

// take puts partition i's staged records below offset end in the batch;
// end < 0 takes nothing (the partition is not in a logged batch).
func (k *Kafka) take(i int, end int64) error {
	if end < 0 {
		return nil
	}
	staged := k.staged[i]
	j := 0
	for ; j < len(staged) && staged[j].Offset < end; j++ {
		if err := k.add(i, &staged[j]); err != nil {
			return err
		}
	}
	n := copy(staged, staged[j:])
	clear(staged[n:])
	k.staged[i] = staged[:n]
	k.pos[i] = min(end, k.avail[i])
	return nil
}

// drain puts everything staged in the batch.
func (k *Kafka) drain() error {
	for i := range k.staged {
		if err := k.take(i, math.MaxInt64); err != nil {
			return err
		}
	}
	k.size = 0
	return nil
}

// add puts a record in the batch being filled: as it is, or with
// WithMeta its value wrapped in the JSON of its metadata.
func (k *Kafka) add(i int, r *kafka.Record) error {
	if !k.cfg.WithMeta {
		return k.p.add(r.Key, r.Keyed, r.Value)
	}
	m := append(k.meta[:0], k.partStr[i]...)
	m = strconv.AppendInt(m, r.Offset, 10)
	m = append(m, `,"timestamp":`...)
	m = strconv.AppendInt(m, r.Time, 10)
	m = append(m, `,"value":`...)
	m = text.AppendJSON(m, r.Value)
	m = append(m, '}')
	k.meta = m
	return k.p.add(r.Key, r.Keyed, m)
}
