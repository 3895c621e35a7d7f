package kafka

import (
	"context"
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

// Committed is a partition's committed offset in a group, with the
// metadata committed with it; Offset is negative when there is none.
type Committed struct {
	Offset   int64
	Metadata string
}

// GroupOffsets fetches group's committed offsets (and their metadata) of
// the partitions of ranges at idx, by index.
func (c Config) GroupOffsets(ctx context.Context, client *kafka.Client, group string, ranges []Range, idx []int) (map[int]Committed, error) {
	req := &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{}}
	for _, i := range idx {
		req.Topics[ranges[i].Topic] = append(req.Topics[ranges[i].Topic], ranges[i].Partition)
	}
	resp, err := client.OffsetFetch(ctx, req)
	if err == nil {
		err = resp.Error
	}
	if err != nil {
		return nil, fmt.Errorf("--group %s: fetching the committed offsets: %v", group, unwrapNet(err))
	}
	out := make(map[int]Committed, len(idx))
	for _, i := range idx {
		out[i] = Committed{Offset: -1}
		for _, p := range resp.Topics[ranges[i].Topic] {
			if p.Partition == ranges[i].Partition && p.Error == nil {
				out[i] = Committed{Offset: max(p.CommittedOffset, -1), Metadata: p.Metadata}
			}
		}
	}
	return out, nil
}

// Commit is an offset to commit for partition Index of the ranges.
type Commit struct {
	Index    int
	Offset   int64
	Metadata string
}

// CommitGroup commits offsets to the group as a member of generation gen.
func (c Config) CommitGroup(ctx context.Context, client *kafka.Client, gen *kafka.Generation, ranges []Range, commits []Commit) error {
	req := &kafka.OffsetCommitRequest{GroupID: gen.GroupID, GenerationID: int(gen.ID), MemberID: gen.MemberID, Topics: map[string][]kafka.OffsetCommit{}}
	for _, x := range commits {
		r := ranges[x.Index]
		req.Topics[r.Topic] = append(req.Topics[r.Topic], kafka.OffsetCommit{Partition: r.Partition, Offset: x.Offset, Metadata: x.Metadata})
	}
	resp, err := client.OffsetCommit(ctx, req)
	if err != nil {
		return unwrapNet(err)
	}
	for t, ps := range resp.Topics {
		for _, p := range ps {
			if p.Error != nil {
				return fmt.Errorf("topic %s partition %d: %v", t, p.Partition, p.Error)
			}
		}
	}
	return nil
}
