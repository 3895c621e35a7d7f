package source

import (
	"context"
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
	ranges, err := k.cfg.Conn.Ranges(ctx, k.cfg.From, k.cfg.UntilCaughtUp)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return err
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
	for i, r := range ranges {
		if k.cfg.UntilCaughtUp && r.Start >= r.End {
			continue
		}
		live++
		wg.Go(func() { k.cfg.Conn.Read(rctx, client, i, r, ch) })
	}

	p := newProcTime(k.cfg.Common, out)
	staged := make([][]kafka.Fetched, len(ranges))
	size := 0
	drain := func() error {
		for i := range staged {
			for _, f := range staged[i] {
				for j := range f.Records {
					if err := k.add(p, i, &f.Records[j]); err != nil {
						return err
					}
				}
			}
			clear(staged[i])
			staged[i] = staged[i][:0]
		}
		size = 0
		return nil
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
			switch {
			case f.Err != nil:
				return f.Err
			case f.Done:
				live--
				continue
			}
			staged[f.Index] = append(staged[f.Index], f)
			for i := range f.Records {
				size += len(f.Records[i].Key) + len(f.Records[i].Value)
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
