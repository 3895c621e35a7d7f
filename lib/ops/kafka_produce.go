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
	if c.IsSet("event-time") {
		if et := c.String("event-time"); et != "timestamp" {
			return nil, stage.Usagef("--event-time %s: with --kafka the event time is the record's Kafka timestamp: want timestamp", et)
		}
		k.EventTime, k.Late = true, c.String("late")
		if k.Lateness, err = parseMs(c, "lateness", true); err != nil {
			return nil, err
		}
	}
	return source.NewKafka(k), nil
}
