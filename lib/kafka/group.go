package kafka

import (
	"fmt"
	"time"

	"dstream/lib/enum"

	kafka "github.com/segmentio/kafka-go"
)

// DataLoss is an --on-data-loss choice: what reading does when the offset
// it is to read from is gone (retention deleted the records first).
type DataLoss int

// DataLoss choices.
const (
	DataLossFail     DataLoss = iota // an error that names the partition and the offsets
	DataLossEarliest                 // a warning, and reading goes on at the earliest offset kept
)

var dataLossNames = []string{"fail", "earliest"}

// ParseDataLoss parses an --on-data-loss name.
func ParseDataLoss(s string) (DataLoss, error) {
	return enum.Parse[DataLoss]("--on-data-loss choice", dataLossNames, s)
}

// Group is a consumer group's settings.
type Group struct {
	ID string
	// SessionTimeout is how long the coordinator waits for a member's
	// heartbeat before it gives the member's partitions to the others.
	SessionTimeout time.Duration
}

// DefaultSessionTimeout is Group.SessionTimeout's default, kafka-go's.
const DefaultSessionTimeout = 30 * time.Second

// Validate checks the settings.
func (g Group) Validate() error {
	if g.ID == "" {
		return fmt.Errorf("the group id is empty")
	}
	if g.SessionTimeout < 10*time.Millisecond {
		return fmt.Errorf("session timeout %v: want 10ms or more", g.SessionTimeout)
	}
	return nil
}

// NewGroup joins consumer group g for c.Topics. Its generations (Next)
// hand out the partitions this member reads and the group's committed
// offset of each, negative where the group has none.
func (c Config) NewGroup(g Group) (*kafka.ConsumerGroup, error) {
	heartbeat := min(max(g.SessionTimeout/10, 10*time.Millisecond), 3*time.Second)
	return kafka.NewConsumerGroup(kafka.ConsumerGroupConfig{
		ID:      g.ID,
		Brokers: c.Servers,
		Dialer: &kafka.Dialer{
			ClientID: "dstream", Timeout: 5 * time.Second, DualStack: true,
			TLS: c.TLS, SASLMechanism: c.SASL,
		},
		Topics:            c.Topics,
		HeartbeatInterval: heartbeat,
		SessionTimeout:    g.SessionTimeout,
		// A member whose partitions are taken waits for its pipeline to
		// commit what it read (RevokeWait) before it rejoins.
		RebalanceTimeout: max(g.SessionTimeout, RevokeWait+5*time.Second),
		JoinGroupBackoff: c.Backoff,
		// No committed offset shows as FirstOffset (negative): the source
		// starts such a partition at --from.
		StartOffset: kafka.FirstOffset,
		Timeout:     5 * time.Second,
	})
}

// RevokeWait bounds how long a member whose partitions are taken (or that
// stops) waits for its pipeline to commit the last checkpoint, so that it
// can commit the offsets before another member reads on from them.
const RevokeWait = 4 * time.Second
