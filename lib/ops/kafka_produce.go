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
	if k.Conn.OnDataLoss, err = kafka.ParseDataLoss(c.String("on-data-loss")); err != nil {
		return nil, stage.Usagef("--on-data-loss: %v", err)
	}
	if c.IsSet("group") {
		k.Group = kafka.Group{ID: c.String("group"), SessionTimeout: c.Duration("session-timeout")}
		if err := k.Group.Validate(); err != nil {
			return nil, stage.Usagef("--group %s: %v", k.Group.ID, err)
		}
	} else if c.IsSet("session-timeout") {
		return nil, stage.Usagef("--session-timeout is for --group")
	}
	return source.NewKafka(k), nil
}
