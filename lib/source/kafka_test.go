package source

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"os"
	"path/filepath"
	"slices"

	"dstream/internal/kafkatest"
	"dstream/lib/checkpoint"
	"dstream/lib/frame"
	"dstream/lib/kafka"
	"dstream/lib/stage"
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

// writeKafka writes keyed records KEY=VALUE... to cfg's topic.
func writeKafka(t *testing.T, cfg kafka.Config, kv ...string) {
	t.Helper()
	w, err := kafka.NewWriter(context.Background(), kafka.WriterConfig{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	var recs []frame.Record
	for _, s := range kv {
		k, v, _ := strings.Cut(s, "=")
		recs = append(recs, frame.Record{Key: []byte(k), Value: []byte(v), Keyed: true})
	}
	if err := w.Process(context.Background(), &frame.Batch{Time: 1000, Partitions: []frame.Partition{{Records: recs}}}); err != nil {
		t.Fatal(err)
	}
}

// runKafkaCP runs produce --kafka --until-caught-up with checkpoint
// directory dir, a barrier after every batch, the clock at now.
func runKafkaCP(t *testing.T, cfg kafka.Config, dir *checkpoint.Dir, now int64) ([]string, error) {
	t.Helper()
	cp := &Checkpoints{Dir: dir, Every: 1, Config: "--kafka"}
	if err := cp.Open(); err != nil {
		return nil, err
	}
	c := testCommon(stage.NewFakeClock(time.UnixMilli(now)))
	c.CP = cp
	var got barrierCollect
	err := (&Checkpointed{Src: NewKafka(KafkaConfig{Common: c, Conn: cfg, UntilCaughtUp: true}), CP: cp}).Run(context.Background(), &got)
	return got.batches(), err
}

// A restart seeks to the committed checkpoint's offsets and cuts the
// logged batches after it again exactly, leaving out what came later,
// which goes into the next live batch.
func TestKafkaCheckpointRestart(t *testing.T) {
	cfg := kafkaWithRecords(t)
	dir, err := checkpoint.Open(t.TempDir(), "produce")
	if err != nil {
		t.Fatal(err)
	}
	got, err := runKafkaCP(t, cfg, dir, 500)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"1000: k2=v2 k5=v5 k3=v3 k4=v4 k6=v6 k7=v7 k0=v0 k1=v1 k8=v8", "BARRIER 1 1000"}
	if !slices.Equal(got, want) {
		t.Fatalf("run 1: got %q\nwant %q", got, want)
	}
	if err := dir.Commit(1); err != nil {
		t.Fatal(err)
	}

	// Run 2 reads from checkpoint 1 on; checkpoint 2 is never committed
	// (the pipeline died).
	writeKafka(t, cfg, "a=1", "b=2", "c=3", "d=4")
	run2, err := runKafkaCP(t, cfg, dir, 1500)
	if err != nil {
		t.Fatal(err)
	}
	if len(run2) != 2 || !strings.HasPrefix(run2[0], "2000: ") || strings.Count(run2[0], "=") != 4 || run2[1] != "BARRIER 2 2000" {
		t.Fatalf("run 2: got %q, want batch 2000 of a..d, then BARRIER 2", run2)
	}

	// Run 3, from checkpoint 1 again: batch 2000 as run 2 made it, then e
	// and f live.
	writeKafka(t, cfg, "e=5", "f=6")
	run3, err := runKafkaCP(t, cfg, dir, 5500)
	if err != nil {
		t.Fatal(err)
	}
	if len(run3) != 4 || run3[0] != run2[0] || run3[1] != "BARRIER 2 2000" ||
		!strings.HasPrefix(run3[2], "6000: ") || strings.Count(run3[2], "=") != 2 || !strings.Contains(run3[2], "e=5") || run3[3] != "BARRIER 3 6000" {
		t.Fatalf("run 3: got %q, want %q, BARRIER 2 2000, batch 6000 of e and f, BARRIER 3 6000", run3, run2[0])
	}
	t.Logf("run 2 %q, run 3 %q", run2, run3)
	b, err := dir.ReadFile("source-3")
	if err != nil {
		t.Fatal(err)
	}
	if first, _, _ := strings.Cut(string(b), "\n"); first != "6000 0 3,6,6" {
		t.Errorf("source-3: %q, want the offsets after batch 6000, \"6000 0 3,5,4\"", first)
	}
}

// The log is cut back to the committed checkpoint's line.
func TestKafkaCheckpointCompact(t *testing.T) {
	defer func(n int) { kafkaLogCompact = n }(kafkaLogCompact)
	kafkaLogCompact = 1
	cfg := kafkaWithRecords(t)
	dir, err := checkpoint.Open(t.TempDir(), "produce")
	if err != nil {
		t.Fatal(err)
	}
	for i, now := range []int64{500, 1500, 2500} {
		if _, err := runKafkaCP(t, cfg, dir, now); err != nil {
			t.Fatal(err)
		}
		if err := dir.Commit(uint64(i + 1)); err != nil {
			t.Fatal(err)
		}
		writeKafka(t, cfg, "x=y")
	}
	// Run 3 committed checkpoint 2 (batch 2000) before its own batch: the
	// lines before batch 2000 are gone.
	b, err := os.ReadFile(filepath.Join(dir.Path, kafkaLogName))
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n"); len(lines) != 2 || !strings.HasPrefix(lines[0], "2000 ") || !strings.HasPrefix(lines[1], "3000 ") {
		t.Errorf("kafka.log:\n%s\nwant the lines of batches 2000 and 3000", b)
	}
}

// A committed offset Kafka does not have fails the restart, naming the
// partition and the offsets.
func TestKafkaCheckpointLost(t *testing.T) {
	cfg := kafkaWithRecords(t)
	dir, err := checkpoint.Open(t.TempDir(), "produce")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := runKafkaCP(t, cfg, dir, 500); err != nil {
		t.Fatal(err)
	}
	if err := dir.WriteFile("source-1", []byte("1000 0 2,9,3\n--kafka\n")); err != nil {
		t.Fatal(err)
	}
	if err := dir.Commit(1); err != nil {
		t.Fatal(err)
	}
	_, err = runKafkaCP(t, cfg, dir, 1500)
	want := "topic t partition 1: reading is to resume at offset 9, but Kafka has offsets 0 to 4 only (retention deleted them, or the topic was made again); --on-data-loss earliest goes on at offset 0, or remove the checkpoint directory to start the pipeline over"
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
}

// Before the first commit, a restart starts where the first run did (the
// log's start line), not at --from again.
func TestKafkaCheckpointStartLine(t *testing.T) {
	cfg := kafkaWithRecords(t)
	dir, err := checkpoint.Open(t.TempDir(), "produce")
	if err != nil {
		t.Fatal(err)
	}
	run := func(now int64) []string {
		cp := &Checkpoints{Dir: dir, Every: 1, Config: "--kafka"}
		if err := cp.Open(); err != nil {
			t.Fatal(err)
		}
		c := testCommon(stage.NewFakeClock(time.UnixMilli(now)))
		c.CP = cp
		var got barrierCollect
		src := NewKafka(KafkaConfig{Common: c, Conn: cfg, UntilCaughtUp: true, From: kafka.From{Kind: kafka.FromLatest}})
		if err := (&Checkpointed{Src: src, CP: cp}).Run(context.Background(), &got); err != nil {
			t.Fatal(err)
		}
		return got.batches()
	}
	if got, want := run(500), []string{"1000:", "BARRIER 1 1000"}; !slices.Equal(got, want) {
		t.Fatalf("run 1: got %q, want %q", got, want)
	}
	writeKafka(t, cfg, "a=1")
	if got, want := run(2500), []string{"1000:", "BARRIER 1 1000", "3000: a=1", "BARRIER 2 3000"}; !slices.Equal(got, want) {
		t.Fatalf("run 2: got %q, want %q", got, want)
	}
}

// Logged batches are cut at their offsets, within a partition's fetch
// too, each at its own time, with its own checkpoint record.
func TestKafkaCheckpointReplaySplits(t *testing.T) {
	cfg := kafkaWithRecords(t)
	dir, err := checkpoint.Open(t.TempDir(), "produce")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := runKafkaCP(t, cfg, dir, 500); err != nil {
		t.Fatal(err)
	}
	if err := dir.Commit(1); err != nil {
		t.Fatal(err)
	}
	// k3 is in partition 1 (offsets 4, 5, 6 now), k0 in partition 2.
	writeKafka(t, cfg, "k3=x1", "k3=x2", "k3=x3", "k0=y1")
	f, err := os.OpenFile(filepath.Join(dir.Path, kafkaLogName), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("2000 2 5 3\n3000 2 7 3\n")
	f.Close()
	got, err := runKafkaCP(t, cfg, dir, 3500)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"2000: k3=x1", "BARRIER 2 2000", "3000: k3=x2 k3=x3", "BARRIER 3 3000", "4000: k0=y1", "BARRIER 4 4000"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %q\nwant %q", got, want)
	}
	b, err := os.ReadFile(filepath.Join(dir.Path, kafkaLogName))
	if err != nil {
		t.Fatal(err)
	}
	if want := "1000 2 4 3\n2000 2 5 3\n3000 2 7 3\n4000 2 7 4\n"; string(b) != want {
		t.Errorf("kafka.log:\n%s\nwant\n%s", b, want)
	}
}
