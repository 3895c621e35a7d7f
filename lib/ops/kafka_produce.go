package ops

import (
	"os"

	"dstream/lib/kafka"
	"dstream/lib/source"
	"dstream/lib/stage"
)

// newProduceKafka builds produce --kafka.
func newProduceKafka(c *stage.Context, common source.Common) (any, error) {
	k := source.KafkaConfig{
		Common: common, UntilCaughtUp: c.Bool("until-caught-up"), WithMeta: c.Bool("with-meta"),
	}
	var err error
	if k.Conn, err = kafka.FromFlags(c, os.Getenv); err != nil {
		return nil, err
	}
	if k.From, err = kafka.ParseFrom(c.String("from")); err != nil {
		return nil, stage.Usagef("--from %v", err)
	}
	return source.NewKafka(k), nil
}
