package kafka

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"dstream/lib/enum"
	"dstream/lib/frame"

	kafka "github.com/segmentio/kafka-go"
)

// TimeHeader is the header every record sink --kafka writes carries: its
// batch time in ms since the epoch, in decimal, so a consumer can tell
// which batch a record came from.
const TimeHeader = "dstream-time"

// Partitioner is a --partitioner choice: how a keyed record's partition
// is chosen. Unkeyed records go round-robin whatever the choice.
type Partitioner int

// Partitioners.
const (
	// Murmur2 is the Java client's default partitioner (and librdkafka's
	// "murmur2_random", Kafka Streams'): kafka-go's Murmur2Balancer.
	Murmur2 Partitioner = iota
	// CRC32 is librdkafka's default, "consistent_random" (kcat,
	// confluent-kafka-go): kafka-go's CRC32Balancer.
	CRC32
	// Hash is FNV-1a, Sarama's default: kafka-go's Hash.
	Hash
)

var partitionerNames = []string{"murmur2", "crc32", "hash"}

// ParsePartitioner parses a --partitioner name.
func ParsePartitioner(s string) (Partitioner, error) {
	return enum.Parse[Partitioner]("partitioner", partitionerNames, s)
}

// Compression is a --compression choice.
type Compression int

var compressionNames = []string{"none", "gzip", "snappy", "lz4", "zstd"}

// ParseCompression parses a --compression name.
func ParseCompression(s string) (Compression, error) {
	return enum.Parse[Compression]("compression", compressionNames, s)
}

// Acks is an --acks choice: which replicas must have a record before the
// write counts as done.
type Acks int

// Acks choices.
const (
	AcksAll  Acks = iota // every in-sync replica (acks=all, -1)
	AcksOne              // the leader (acks=1)
	AcksNone             // none: fire and forget (acks=0)
)

var acksNames = []string{"all", "one", "none"}

// ParseAcks parses an --acks name.
func ParseAcks(s string) (Acks, error) { return enum.Parse[Acks]("acks", acksNames, s) }

// Timestamp is a --timestamp choice: what a written record's Kafka
// timestamp is.
type Timestamp int

// Timestamp choices.
const (
	// TimestampNow stamps a record with the time it is written (Kafka's
	// CreateTime as clients set it).
	TimestampNow Timestamp = iota
	// TimestampBatch stamps it with its batch's last millisecond, T-1, so
	// that produce --event-time timestamp puts it in batch T again.
	TimestampBatch
)

var timestampNames = []string{"now", "batch"}

// ParseTimestamp parses a --timestamp name.
func ParseTimestamp(s string) (Timestamp, error) {
	return enum.Parse[Timestamp]("timestamp", timestampNames, s)
}

// WriterConfig is how sink --kafka writes.
type WriterConfig struct {
	Config
	Partitioner Partitioner
	Compression Compression
	Acks        Acks
	// ByKey (--by-key) makes the topic a repartition topic: every record
	// must be keyed, and a key always goes to the same partition.
	ByKey     bool
	Timestamp Timestamp
}

// Writer writes batches to a topic. Every batch (every chunk of a big one)
// is written synchronously: Process returns once the cluster acknowledged
// all of its records (per --acks), so a batch that went through is
// delivered and a BARRIER needs no more waiting; any record not delivered
// fails the stage. At-least-once: a replayed batch is written again.
type Writer struct {
	w    *kafka.Writer
	msgs []kafka.Message
	hdr  []kafka.Header // shared by the messages of one batch
	tbuf []byte

	byKey bool
	seen  int // records of the batch in its earlier chunks, for error messages
	stamp Timestamp
}

// keyBalancer sends unkeyed records round-robin, so they spread evenly
// and deterministically, and keyed ones by the hash of their key.
type keyBalancer struct {
	rr    kafka.RoundRobin
	keyed kafka.Balancer
}

func (b *keyBalancer) Balance(m kafka.Message, partitions ...int) int {
	if m.Key == nil {
		return b.rr.Balance(m, partitions...)
	}
	return b.keyed.Balance(m, partitions...)
}

// NewWriter checks that the topic exists (with bounded retries of an
// unreachable cluster) and returns its Writer.
func NewWriter(ctx context.Context, cfg WriterConfig) (*Writer, error) {
	if _, err := cfg.Partitions(ctx); err != nil {
		return nil, err
	}
	bal := &keyBalancer{}
	switch cfg.Partitioner {
	case Murmur2:
		bal.keyed = &kafka.Murmur2Balancer{}
	case CRC32:
		// librdkafka's consistent_random sends an empty key to a random
		// partition; --by-key promises every key one partition, so there
		// it hashes "" like any key.
		bal.keyed = &kafka.CRC32Balancer{Consistent: cfg.ByKey}
	case Hash:
		bal.keyed = &kafka.Hash{}
	}
	w := &kafka.Writer{
		Addr:      kafka.TCP(cfg.Servers...),
		Topic:     cfg.Topics[0],
		Balancer:  bal,
		Transport: cfg.Transport(),
		// A batch is written whole by one call; kafka-go's default of 1 s
		// would add a second of latency to every batch's last messages.
		BatchTimeout: 2 * time.Millisecond,
		BatchSize:    10000,
		BatchBytes:   1 << 20,
		// Bounded retries of a failed write, then the stage fails.
		MaxAttempts:     5,
		WriteBackoffMin: 50 * time.Millisecond,
		WriteBackoffMax: time.Second,
		WriteTimeout:    10 * time.Second,
		ReadTimeout:     10 * time.Second,
	}
	switch cfg.Acks {
	case AcksAll:
		w.RequiredAcks = kafka.RequireAll
	case AcksOne:
		w.RequiredAcks = kafka.RequireOne
	case AcksNone:
		w.RequiredAcks = kafka.RequireNone
	}
	switch compressionNames[cfg.Compression] {
	case "gzip":
		w.Compression = kafka.Gzip
	case "snappy":
		w.Compression = kafka.Snappy
	case "lz4":
		w.Compression = kafka.Lz4
	case "zstd":
		w.Compression = kafka.Zstd
	}
	return &Writer{w: w, hdr: make([]kafka.Header, 1), byKey: cfg.ByKey, stamp: cfg.Timestamp}, nil
}

// Process writes the batch's records, partition by partition in order,
// and waits until the cluster acknowledged every one. With ByKey an
// unkeyed record fails the batch (or chunk) before any of it is written.
func (w *Writer) Process(ctx context.Context, b *frame.Batch) error {
	first := w.seen
	if b.More {
		w.seen += b.Len()
	} else {
		w.seen = 0
	}
	if w.byKey {
		if i := firstUnkeyed(b); i >= 0 {
			return fmt.Errorf("batch %d: record %d has no key (--by-key wants keyed records; use keyby first)", b.Time, first+i)
		}
	}
	var at time.Time // zero: kafka-go stamps the write time
	if w.stamp == TimestampBatch {
		at = time.UnixMilli(b.Time - 1)
	}
	w.tbuf = strconv.AppendInt(w.tbuf[:0], b.Time, 10)
	w.hdr[0] = kafka.Header{Key: TimeHeader, Value: w.tbuf}
	msgs := w.msgs[:0]
	for _, p := range b.Partitions {
		for i := range p.Records {
			r := &p.Records[i]
			m := kafka.Message{Value: r.Value, Headers: w.hdr, Time: at}
			if r.Keyed {
				m.Key = r.Key
				if m.Key == nil {
					m.Key = []byte{} // an empty key is a key, not none
				}
			}
			msgs = append(msgs, m)
		}
	}
	w.msgs = msgs
	if len(msgs) == 0 {
		return nil
	}
	err := w.w.WriteMessages(ctx, msgs...)
	clear(msgs) // the batch's bytes are not ours after this call
	if err == nil {
		return nil
	}
	var werrs kafka.WriteErrors
	if errors.As(err, &werrs) {
		return fmt.Errorf("batch %d: %d of %d records not delivered to topic %s: %v", b.Time, werrs.Count(), len(msgs), w.w.Topic, firstErr(werrs))
	}
	return fmt.Errorf("batch %d: records not delivered to topic %s: %v", b.Time, w.w.Topic, err)
}

// firstUnkeyed is the index in b of its first unkeyed record, or -1.
func firstUnkeyed(b *frame.Batch) int {
	n := 0
	for _, p := range b.Partitions {
		for i := range p.Records {
			if !p.Records[i].Keyed {
				return n + i
			}
		}
		n += len(p.Records)
	}
	return -1
}

func firstErr(errs kafka.WriteErrors) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// Close closes the connections.
func (w *Writer) Close() error { return w.w.Close() }
