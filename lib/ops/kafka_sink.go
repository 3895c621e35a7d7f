package ops

import (
	"context"
	"os"
	"slices"

	"dstream/lib/frame"
	"dstream/lib/kafka"
	"dstream/lib/stage"

	"github.com/urfave/cli/v2"
)

// kafkaSinkDescription is the --kafka part of sink's usage text.
const kafkaSinkDescription = `Kafka (--kafka SERVERS --topic T): every record becomes one Kafka record, the key
of a keyed record its key, an unkeyed one without a key; the batch time (ms) is
in the header "dstream-time". Records are written in batch order, partition by
partition. --partitioner picks a keyed record's partition: murmur2 (the default)
is the Java client's default partitioner (and Kafka Streams'), crc32 is
librdkafka's default (kcat, confluent-kafka-go), hash is FNV-1a (Sarama's).
Unkeyed records go round-robin. --by-key makes T a repartition topic, as Kafka
Streams': every record must be keyed (an unkeyed one fails the sink, exit 1,
before anything of its batch, or of its chunk of a big batch, is written), and a
key always goes to the same partition for a given partition count and
--partitioner, so each key lives in one copy of a pipeline reading T.
--timestamp says what a record's Kafka timestamp is: now, the time it is written
(the default), or batch, its batch's last millisecond (T-1), so that produce
--event-time timestamp reading T makes the same batches again. Every
batch is flushed when it ends and the sink waits until the cluster has
acknowledged all of its records (--acks all: every in-sync replica, the default;
one: the leader; none: no wait) before it takes the next batch or a checkpoint
barrier; a record that cannot be delivered after 5 attempts fails the sink
(exit 1), never a silent drop. At-least-once: a batch replayed after a restart is
written again (kafka-go has no transactions). The cluster is tried 5 times at
start before the sink gives up. Security: --tls, --tls-ca, --sasl with
--sasl-user and the password in $DSTREAM_KAFKA_PASSWORD or --sasl-password-file.

   produce --batch 1s --keyed events.tsv | sink --kafka k1:9092,k2:9092 --topic events --compression zstd`

var kafkaSinkFlags = append(kafka.Flags(),
	&cli.StringFlag{Name: "partitioner", Value: "murmur2", Usage: "--kafka: partition of a keyed record by murmur2 (Java's), crc32 (librdkafka's) or hash (FNV-1a) of its key"},
	&cli.StringFlag{Name: "compression", Value: "none", Usage: "--kafka: record batch compression: none, gzip, snappy, lz4 or zstd"},
	&cli.StringFlag{Name: "acks", Value: "all", Usage: "--kafka: acknowledgement to wait for: all, one or none"},
	&cli.BoolFlag{Name: "by-key", Usage: "--kafka: a repartition topic: every record must be keyed, and a key always goes to one partition"},
	&cli.StringFlag{Name: "timestamp", Value: "now", Usage: "--kafka: a record's Kafka timestamp: now (written) or batch (its batch time - 1 ms)"},
)

var kafkaSinkFlagNames = append(slices.Clone(kafka.FlagNames), "partitioner", "compression", "acks", "by-key", "timestamp")

// kafkaOnly rejects the flags in names, which mean something only with --kafka.
func kafkaOnly(c *stage.Context, names []string) error {
	for _, name := range names {
		if c.IsSet(name) {
			return stage.Usagef("--%s applies to --kafka only", name)
		}
	}
	return nil
}

type kafkaSink struct{ w *kafka.Writer }

func newKafkaSink(c *stage.Context) (any, error) {
	if c.IsSet("compress") {
		return nil, stage.Usagef("--compress is for --object-files; --kafka compresses with --compression")
	}
	for _, name := range []string{"format", "with-time", "text-files", "object-files", "suffix", "skip-empty"} {
		if c.IsSet(name) {
			return nil, stage.Usagef("--%s does not apply to --kafka, which writes each record as a Kafka record", name)
		}
	}
	var cfg kafka.WriterConfig
	var err error
	if cfg.Config, err = kafka.FromFlags(c, os.Getenv); err != nil {
		return nil, err
	}
	if len(cfg.Topics) > 1 {
		return nil, stage.Usagef("--topic %s: sink writes to one topic", c.String("topic"))
	}
	if cfg.Partitioner, err = kafka.ParsePartitioner(c.String("partitioner")); err != nil {
		return nil, stage.Usagef("--partitioner: %v", err)
	}
	if cfg.Compression, err = kafka.ParseCompression(c.String("compression")); err != nil {
		return nil, stage.Usagef("--compression: %v", err)
	}
	if cfg.Acks, err = kafka.ParseAcks(c.String("acks")); err != nil {
		return nil, stage.Usagef("--acks: %v", err)
	}
	cfg.ByKey = c.Bool("by-key")
	if cfg.Timestamp, err = kafka.ParseTimestamp(c.String("timestamp")); err != nil {
		return nil, stage.Usagef("--timestamp: %v", err)
	}
	w, err := kafka.NewWriter(c.Context.Context, cfg)
	if err != nil {
		return nil, err
	}
	return &kafkaSink{w}, nil
}

func (s *kafkaSink) Process(ctx context.Context, b *frame.Batch, _ stage.Emitter) error {
	return s.w.Process(ctx, b)
}

// Barrier has nothing to wait for: Process returns only once its records
// are acknowledged, so everything before the barrier is.
func (s *kafkaSink) Barrier(context.Context, frame.Barrier) error { return nil }

func (s *kafkaSink) Close() error { return s.w.Close() }
