package source

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"sync"

	"dstream/lib/kafka"
	"dstream/lib/stage"
	"dstream/lib/text"
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
}

// Kafka reads every partition of its topics, without a consumer group,
// taking part in checkpoints by offsets (kafka_checkpoint.go) when
// Common.CP is set,
// batched by processing time: batch T holds what arrived in [T-D, T).
// Within a batch (each chunk of a big one) records are grouped by topic,
// in --topic order, then by partition number, each partition's in offset
// order, so the order of a batch does not depend on which partition's
// fetch came first.
type Kafka struct {
	cfg     KafkaConfig
	meta    []byte
	partStr []string // "topic","partition" JSON prefix per range
}

// NewKafka returns the Kafka source.
func NewKafka(cfg KafkaConfig) *Kafka { return &Kafka{cfg: cfg} }

// Run implements stage.Source.
func (k *Kafka) Run(ctx context.Context, out stage.Emitter) error {
	from, caughtUp := k.cfg.From, k.cfg.UntilCaughtUp
	var kl *kafkaLog
	if cp := k.cfg.CP; cp != nil {
		var err error
		if kl, err = openKafkaLog(cp); err != nil {
			return err
		}
		if kl.resume() {
			// The earliest and end offsets, to check the restored ones.
			from, caughtUp = kafka.From{Kind: kafka.FromEarliest}, true
		}
	}
	ranges, err := k.cfg.Conn.Ranges(ctx, from, caughtUp)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return err
	}
	if kl != nil {
		if err := kl.start(ranges); err != nil {
			return err
		}
		if !k.cfg.UntilCaughtUp {
			for i := range ranges {
				ranges[i].End = -1
			}
		}
	}
	for _, r := range ranges {
		topic := string(text.AppendJSONString(nil, []byte(r.Topic)))
		k.partStr = append(k.partStr, `{"topic":`+topic+`,"partition":`+strconv.Itoa(r.Partition)+`,"offset":`)
	}
	rctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	client := k.cfg.Conn.Client()
	defer func() {
		cancel()
		wg.Wait()
		kafka.CloseClient(client)
	}()
	// One reader per partition; a small channel, so that readers wait
	// when the pipeline is slower than Kafka.
	ch := make(chan kafka.Fetched, len(ranges))
	live := 0
	// staged holds each partition's records fetched and not yet in a
	// batch; avail is the offset its reading got to, done that it ended.
	staged := make([][]kafka.Record, len(ranges))
	avail := make([]int64, len(ranges))
	done := make([]bool, len(ranges))
	pos := make([]int64, len(ranges))
	for i, r := range ranges {
		avail[i], pos[i] = r.Start, r.Start
	}
	// start starts a reader of every range not read to its end.
	start := func(rs []kafka.Range) {
		for i, r := range rs {
			if done[i] = r.End >= 0 && r.Start >= r.End; !done[i] {
				live++
				wg.Go(func() { k.cfg.Conn.Read(rctx, client, i, r, ch) })
			}
		}
	}
	var last []int64 // where the replay ends
	if kl != nil && len(kl.replay) > 0 {
		// Replay readers stop at the last logged batch's offsets: a
		// partition ahead of another one the batch waits for does not
		// fetch on into live records meanwhile, so what is held stays
		// within the logged batches.
		last = kl.replay[len(kl.replay)-1].offs
		rs := slices.Clone(ranges)
		for i := range rs {
			rs[i].End = last[i]
		}
		start(rs)
	} else {
		start(ranges)
	}
	if kl != nil {
		kl.pos = pos
	}

	p := newProcTime(k.cfg.Common, out)
	size := 0
	// take puts partition i's staged records below offset end in the batch.
	take := func(i int, end int64) error {
		j := 0
		for ; j < len(staged[i]) && staged[i][j].Offset < end; j++ {
			if err := k.add(p, i, &staged[i][j]); err != nil {
				return err
			}
		}
		n := copy(staged[i], staged[i][j:])
		clear(staged[i][n:])
		staged[i] = staged[i][:n]
		pos[i] = min(end, avail[i])
		return nil
	}
	drain := func() error {
		for i := range staged {
			if err := take(i, math.MaxInt64); err != nil {
				return err
			}
		}
		size = 0
		return nil
	}
	receive := func(f kafka.Fetched) error {
		switch {
		case f.Err != nil:
			return f.Err
		case f.Done:
			live--
			done[f.Index] = true
			return nil
		}
		staged[f.Index] = append(staged[f.Index], f.Records...)
		avail[f.Index] = f.Next
		for i := range f.Records {
			size += len(f.Records[i].Key) + len(f.Records[i].Value)
		}
		return nil
	}
	if kl != nil && kl.cp.restarted {
		// Restarted within the committed batch's interval: the clock's
		// batch would be taken for the committed one, and left out.
		p.next = max(p.next, kl.cp.skipTo+p.interval)
	}
	if kl != nil && len(kl.replay) > 0 {
		if err := k.replay(ctx, p, kl, ranges, ch, avail, done, take, receive); err != nil {
			return err
		}
		for live > 0 { // the replay readers' Done
			select {
			case <-ctx.Done():
				return ctx.Err()
			case f := <-ch:
				if err := receive(f); err != nil {
					return err
				}
			}
		}
		rs := slices.Clone(ranges)
		for i := range rs {
			rs[i].Start = last[i]
		}
		start(rs)
	}
	timer := p.timer()
	for live > 0 || !k.cfg.UntilCaughtUp {
		select {
		case <-ctx.Done():
			if err := drain(); err != nil {
				return err
			}
			if err := p.flush(); err != nil {
				return err
			}
			return ctx.Err()
		case <-timer:
			if err := drain(); err != nil {
				return err
			}
			if err := p.tick(); err != nil {
				return err
			}
			timer = p.timer()
		case f := <-ch:
			if err := receive(f); err != nil {
				return err
			}
			// A big batch goes out in chunks, each in partition order.
			if size >= p.chunk {
				if err := drain(); err != nil {
					return err
				}
			}
		}
	}
	if err := drain(); err != nil {
		return err
	}
	return p.flush()
}

// replay cuts the logged batches after the committed checkpoint again:
// batch T goes out once every partition was read to its logged offset,
// with what each took below it. Then the clock cuts, from the batch after
// the last logged one. A stop in the middle leaves the rest for the next
// restart (it is still in the log).
func (k *Kafka) replay(ctx context.Context, p *procTime, kl *kafkaLog, ranges []kafka.Range, ch <-chan kafka.Fetched,
	avail []int64, done []bool, take func(int, int64) error, receive func(kafka.Fetched) error) error {
	for len(kl.replay) > 0 {
		x := kl.replay[0]
		ready := true
		for i, r := range ranges {
			if avail[i] < x.offs[i] {
				if done[i] {
					return fmt.Errorf("topic %s partition %d: batch %d took records up to offset %d before the restart, but the partition ends at %d now", r.Topic, r.Partition, x.time, x.offs[i], avail[i])
				}
				ready = false
			}
		}
		if !ready {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case f := <-ch:
				if err := receive(f); err != nil {
					return err
				}
			}
			continue
		}
		for i := range ranges {
			if err := take(i, x.offs[i]); err != nil {
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

// add puts a record in the batch being filled: as it is, or with
// WithMeta its value wrapped in the JSON of its metadata.
func (k *Kafka) add(p *procTime, i int, r *kafka.Record) error {
	if !k.cfg.WithMeta {
		return p.add(r.Key, r.Keyed, r.Value)
	}
	m := append(k.meta[:0], k.partStr[i]...)
	m = strconv.AppendInt(m, r.Offset, 10)
	m = append(m, `,"timestamp":`...)
	m = strconv.AppendInt(m, r.Time, 10)
	m = append(m, `,"value":`...)
	m = text.AppendJSON(m, r.Value)
	m = append(m, '}')
	k.meta = m
	return p.add(r.Key, r.Keyed, m)
}
