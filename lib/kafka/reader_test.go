package kafka

import (
	"context"
	"fmt"
	"testing"
	"time"

	"dstream/internal/kafkatest"
	"dstream/lib/frame"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// deleteRecords makes Kafka drop partition 0 of topic below offset before,
// as retention does.
func deleteRecords(t *testing.T, cfg Config, topic string, before int64) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(cfg.Servers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	req := kmsg.NewPtrDeleteRecordsRequest()
	rt := kmsg.NewDeleteRecordsRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewDeleteRecordsRequestTopicPartition()
	rp.Partition, rp.Offset = 0, before
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	req.TimeoutMillis = 5000
	resp, err := req.RequestWith(context.Background(), cl)
	if err != nil {
		t.Fatal(err)
	}
	if code := resp.Topics[0].Partitions[0].ErrorCode; code != 0 {
		t.Fatalf("DeleteRecords: error code %d", code)
	}
}

// TestReadDataLoss: records deleted before they were read fail reading,
// naming the offsets, or with DataLossEarliest are skipped, said by Lost.
func TestReadDataLoss(t *testing.T) {
	cfg := startBroker(t, kafkatest.Topic{Name: "t", Partitions: 1})
	cfg.Topics = []string{"t"}
	w, err := NewWriter(context.Background(), WriterConfig{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	var recs []frame.Record
	for i := range 10 {
		recs = append(recs, frame.Record{Value: fmt.Appendf(nil, "v%d", i)})
	}
	b := &frame.Batch{Time: 1000, Interval: 1000, Partitions: []frame.Partition{{Records: recs}}}
	if err := w.Process(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	w.Close()
	deleteRecords(t, cfg, "t", 5)

	read := func(loss DataLoss) []Fetched {
		c := cfg
		c.OnDataLoss = loss
		client := c.Client()
		defer CloseClient(client)
		ch := make(chan Fetched, 20)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		go c.Read(ctx, client, 0, Range{Topic: "t", Partition: 0, Start: 2, End: 10}, ch)
		var got []Fetched
		for f := range ch {
			got = append(got, f)
			if f.Done || f.Err != nil {
				break
			}
		}
		return got
	}

	got := read(DataLossFail)
	want := "topic t partition 0: offsets 2 to 5 were deleted (retention) before they were read (--on-data-loss earliest skips them)"
	if len(got) != 1 || got[0].Err == nil || got[0].Err.Error() != want {
		t.Fatalf("fail: got %+v, want the error %q", got, want)
	}

	got = read(DataLossEarliest)
	if len(got) < 2 || !got[0].Lost || got[0].Next != 5 || len(got[0].Records) != 0 {
		t.Fatalf("earliest: got %+v, want Lost to offset 5 first", got)
	}
	var offs []int64
	for _, f := range got[1:] {
		for _, r := range f.Records {
			offs = append(offs, r.Offset)
		}
	}
	if fmt.Sprint(offs) != "[5 6 7 8 9]" || !got[len(got)-1].Done {
		t.Errorf("earliest: read offsets %v (done %v), want [5 6 7 8 9] then done", offs, got[len(got)-1].Done)
	}
}
