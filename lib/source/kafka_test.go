package source

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"dstream/internal/kafkatest"
	"dstream/lib/frame"
	"dstream/lib/kafka"
)

// kafkaWithRecords starts a broker with topic t of 3 partitions holding
// keyed records k0..k8 and returns its connection.
func kafkaWithRecords(t *testing.T) kafka.Config {
	t.Helper()
	c, err := kafkatest.Start(kafkatest.Config{Topics: []kafkatest.Topic{{Name: "t", Partitions: 3}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	cfg := kafka.Config{Servers: c.ListenAddrs(), Topics: []string{"t"}, Retries: 2, Backoff: 10 * time.Millisecond}
	w, err := kafka.NewWriter(context.Background(), kafka.WriterConfig{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	var recs []frame.Record
	for _, k := range []string{"k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7", "k8"} {
		recs = append(recs, frame.Record{Key: []byte(k), Value: []byte("v" + k[1:]), Keyed: true})
	}
	if err := w.Process(context.Background(), &frame.Batch{Time: 1000, Partitions: []frame.Partition{{Records: recs}}}); err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestKafkaUntilCaughtUp(t *testing.T) {
	cfg := kafkaWithRecords(t)
	var got collect
	src := NewKafka(KafkaConfig{Common: testCommon(nil), Conn: cfg, UntilCaughtUp: true})
	if err := src.Run(context.Background(), &got); err != nil {
		t.Fatal(err)
	}
	// One batch at the fake clock's first batch time, grouped by partition
	// (murmur2 of the keys), each partition in offset order.
	want := "1000: k2=v2 k5=v5 k3=v3 k4=v4 k6=v6 k7=v7 k0=v0 k1=v1 k8=v8"
	if s := strings.Join(got.batches(), "; "); s != want {
		t.Errorf("got %s\nwant %s", s, want)
	}
}

func TestKafkaWithMeta(t *testing.T) {
	cfg := kafkaWithRecords(t)
	var got collect
	src := NewKafka(KafkaConfig{Common: testCommon(nil), Conn: cfg, UntilCaughtUp: true, WithMeta: true,
		From: kafka.From{Kind: kafka.FromOffset, Offset: 2}})
	if err := src.Run(context.Background(), &got); err != nil {
		t.Fatal(err)
	}
	b := got.batches()
	// Partition 0 ends at offset 2: nothing from it.
	want := regexp.MustCompile(`^1000: k6=\{"topic":"t","partition":1,"offset":2,"timestamp":\d{13},"value":"v6"\} ` +
		`k7=\{"topic":"t","partition":1,"offset":3,"timestamp":\d{13},"value":"v7"\} ` +
		`k8=\{"topic":"t","partition":2,"offset":2,"timestamp":\d{13},"value":"v8"\}$`)
	if len(b) != 1 || !want.MatchString(b[0]) {
		t.Errorf("got %q", b)
	}
}

func TestKafkaStop(t *testing.T) {
	// Without --until-caught-up the source runs until its context ends,
	// then emits what it has.
	cfg := kafkaWithRecords(t)
	got := collect{ch: make(chan string, 10)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- NewKafka(KafkaConfig{Common: testCommon(nil), Conn: cfg}).Run(ctx, &got) }()
	time.Sleep(200 * time.Millisecond) // time to fetch everything
	cancel()
	if err := <-done; err != context.Canceled {
		t.Errorf("Run: %v, want context.Canceled", err)
	}
	if b := got.batches(); len(b) != 1 || strings.Count(b[0], "=") != 9 {
		t.Errorf("got %q, want one batch of the 9 records", b)
	}
}

func TestKafkaChunks(t *testing.T) {
	// A batch bigger than the chunk size goes out in chunks (More); each
	// partition's records stay in offset order across them.
	cfg := kafkaWithRecords(t)
	var got collect
	common := testCommon(nil)
	common.Chunk = 10
	if err := NewKafka(KafkaConfig{Common: common, Conn: cfg, UntilCaughtUp: true}).Run(context.Background(), &got); err != nil {
		t.Fatal(err)
	}
	b := got.batches()
	if len(b) < 2 || !strings.HasPrefix(b[0], "1000: (more)") || strings.Contains(b[len(b)-1], "more") {
		t.Fatalf("got %q, want chunks of batch 1000, the last without more", b)
	}
	all := strings.Join(b, " ")
	for _, order := range [][]string{{"k2=", "k5="}, {"k3=", "k4=", "k6=", "k7="}, {"k0=", "k1=", "k8="}} {
		for i := 1; i < len(order); i++ {
			if strings.Index(all, order[i-1]) > strings.Index(all, order[i]) {
				t.Errorf("%s after %s in %q", order[i-1], order[i], b)
			}
		}
	}
	if n := strings.Count(all, "="); n != 9 {
		t.Errorf("%d records, want 9: %q", n, b)
	}
}
