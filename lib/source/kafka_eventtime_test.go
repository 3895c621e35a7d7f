package source

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"dstream/internal/kafkatest"
	"dstream/lib/checkpoint"
	"dstream/lib/frame"
	"dstream/lib/kafka"

	kafkago "github.com/segmentio/kafka-go"
)

// eventFeed is the event-time state of a Kafka source over n partitions
// of topic t, fed by hand with fetch: the order of fetches across
// partitions is the test's, not the broker's.
func eventFeed(t testing.TB, n int, lateness int64, late string) (*kafkaEvent, *collect) {
	t.Helper()
	got := &collect{}
	k := NewKafka(KafkaConfig{Common: testCommon(nil), Conn: kafka.Config{Topics: []string{"t"}}, EventTime: true, Lateness: lateness})
	ranges := make([]kafka.Range, n)
	for i := range ranges {
		ranges[i] = kafka.Range{Topic: "t", Partition: i, End: -1}
	}
	k.setup(ranges, got)
	t.Cleanup(func() { kafka.CloseClient(k.client) })
	e := newKafkaEvent(k)
	k.live = n
	var err error
	if e.late, err = openLate(late); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.late.close() })
	e.setW()
	return e, got
}

// fetch is what a fetch of partition i gives: records "KEY=VALUE@TS" at
// offsets from off; caught says whether it read up to the high watermark.
func fetch(i int, off int64, caught bool, recs ...string) kafka.Fetched {
	f := kafka.Fetched{Index: i}
	for j, s := range recs {
		kv, ts, _ := strings.Cut(s, "@")
		k, v, _ := strings.Cut(kv, "=")
		n, _ := strconv.ParseInt(ts, 10, 64)
		f.Records = append(f.Records, kafka.Record{Key: []byte(k), Value: []byte(v), Keyed: true, Offset: off + int64(j), Time: n})
	}
	f.Next = off + int64(len(recs))
	f.HighWatermark = f.Next + 100
	if caught {
		f.HighWatermark = f.Next
	}
	return f
}

// Batch T holds the records stamped in [T-D, T), in offset order; it goes
// out once the watermark is T + lateness; a record of a batch that went
// out is late (file event time's rule, eventtime_test.go).
func TestKafkaEventBatches(t *testing.T) {
	for _, tt := range []struct {
		name     string
		lateness int64
		recs     []string
		want     string // the batches, after the end of reading
		err      string
	}{
		{"in order", 0, []string{"a=1@100", "b=2@1500", "c=3@1200", "d=4@3999"},
			"1000: a=1; 2000: b=2 c=3; 3000:; 4000: d=4", ""},
		{"a batch starts at the stamp", 0, []string{"a=1@999", "b=2@1000"},
			"1000: a=1; 2000: b=2", ""},
		{"lateness keeps a batch open", 500, []string{"a=1@100", "b=2@1100", "c=3@900", "d=4@1600", "e=5@1000"},
			"1000: a=1 c=3; 2000: b=2 d=4 e=5", ""},
		{"no lateness: an earlier batch is late", 0, []string{"a=1@100", "b=2@1100", "c=3@900"},
			"", "topic t partition 0 offset 2: late record at time 900: its batch 1000 was already emitted (the stream is at batch 2000) (raise --lateness, or give --late FILE to keep late records)"},
		{"an earlier record before any batch went out starts the stream", 0, []string{"a=1@2500", "b=2@100"},
			"1000: b=2; 2000:; 3000: a=1", ""},
		{"no timestamp", 0, []string{"a=1@-1"},
			"", "topic t partition 0 offset 0: the record has no timestamp (-1), which --event-time timestamp batches by"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e, got := eventFeed(t, 1, tt.lateness, "")
			err := e.receive(fetch(0, 0, false, tt.recs...))
			if err == nil {
				err = e.finish()
			}
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("got %v\nwant %s", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s := strings.Join(got.batches(), "; "); s != tt.want {
				t.Errorf("got  %s\nwant %s", s, tt.want)
			}
		})
	}
}

// With --late FILE a late record is a JSON line naming where it was read.
func TestKafkaEventLateFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "late.jsonl")
	e, got := eventFeed(t, 1, 0, path)
	f := fetch(0, 0, false, "a=1@100", "b=2@1100", "c={\"n\":1}@900", "d=x y@500")
	f.Records[3].Keyed, f.Records[3].Key = false, nil
	if err := e.receive(f); err != nil {
		t.Fatal(err)
	}
	if err := e.finish(); err != nil {
		t.Fatal(err)
	}
	if err := e.late.close(); err != nil {
		t.Fatal(err)
	}
	if s, want := strings.Join(got.batches(), "; "), "1000: a=1; 2000: b=2"; s != want {
		t.Errorf("got %s, want %s", s, want)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"topic":"t","partition":0,"offset":2,"timestamp":900,"key":"c","value":{"n":1}}
{"topic":"t","partition":0,"offset":3,"timestamp":500,"key":null,"value":"x y"}
`
	if string(b) != want {
		t.Errorf("late file:\n%s\nwant\n%s", b, want)
	}
}

// The watermark is the smallest of the partitions' being read: a
// partition read ahead does not make a lagging one's records late, and
// its own wait. A batch holds partition 0's records, then partition 1's.
func TestKafkaEventLaggingPartition(t *testing.T) {
	e, got := eventFeed(t, 2, 0, "")
	step := func(f kafka.Fetched, want ...string) {
		t.Helper()
		if err := e.receive(f); err != nil {
			t.Fatal(err)
		}
		if b := got.batches(); !slices.Equal(b, want) {
			t.Fatalf("got %q\nwant %q", b, want)
		}
	}
	step(fetch(0, 0, false, "a=1@5000", "b=2@6000")) // partition 1 not read yet: nothing goes out
	step(fetch(1, 0, false, "c=3@1000", "d=4@1500")) // the watermark is 1500: batch 2000 waits
	step(fetch(1, 2, false, "e=5@3200"), "2000: c=3 d=4", "3000:")
	step(fetch(0, 2, false, "g=7@4100", "h=8@5100"), "2000: c=3 d=4", "3000:")
	step(fetch(1, 3, false, "i=9@5500"), "2000: c=3 d=4", "3000:", "4000: e=5", "5000: g=7")
	if err := e.finish(); err != nil {
		t.Fatal(err)
	}
	want := []string{"2000: c=3 d=4", "3000:", "4000: e=5", "5000: g=7", "6000: a=1 h=8 i=9", "7000: b=2"}
	if b := got.batches(); !slices.Equal(b, want) {
		t.Fatalf("got %q\nwant %q", b, want)
	}
}

// A partition read up to its high watermark does not hold the others
// back; when every one has, the batches up to the largest timestamp go
// out, lateness kept; a record then is late if its batch went out.
func TestKafkaEventCaughtUp(t *testing.T) {
	e, got := eventFeed(t, 2, 0, "")
	step := func(f kafka.Fetched, want string) {
		t.Helper()
		if err := e.receive(f); err != nil {
			t.Fatal(err)
		}
		if b := strings.Join(got.batches(), "; "); b != want {
			t.Fatalf("got  %s\nwant %s", b, want)
		}
	}
	step(fetch(1, 0, true), "")                                   // partition 1 is empty
	step(fetch(0, 0, false, "a=1@1000", "b=2@2500"), "2000: a=1") // partition 0 alone holds the watermark
	step(fetch(0, 2, true), "2000: a=1")                          // idle: the largest timestamp, 2500
	step(fetch(0, 2, true, "c=3@3500"), "2000: a=1; 3000: b=2")
	// Partition 1 reads on with a record behind partition 0's.
	err := e.receive(fetch(1, 0, true, "d=4@2900"))
	want := "topic t partition 1 offset 0: late record at time 2900: its batch 3000 was already emitted (the stream is at batch 4000) (raise --lateness, or give --late FILE to keep late records)"
	if err == nil || err.Error() != want {
		t.Fatalf("got %v\nwant %s", err, want)
	}
}

// kafkaEventBroker starts a broker with topic t of n partitions and
// writes the records "KEY=VALUE@TS" to them: recs[i] to partition i.
func kafkaEventBroker(t *testing.T, recs ...[]string) kafka.Config {
	t.Helper()
	c, err := kafkatest.Start(kafkatest.Config{Topics: []kafkatest.Topic{{Name: "t", Partitions: int32(len(recs))}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	cfg := kafka.Config{Servers: c.ListenAddrs(), Topics: []string{"t"}, Retries: 2, Backoff: 10 * time.Millisecond}
	client := cfg.Client()
	defer kafka.CloseClient(client)
	for p, rs := range recs {
		if len(rs) == 0 {
			continue
		}
		var records []kafkago.Record
		for _, s := range rs {
			kv, ts, _ := strings.Cut(s, "@")
			k, v, _ := strings.Cut(kv, "=")
			n, _ := strconv.ParseInt(ts, 10, 64)
			records = append(records, kafkago.Record{Time: time.UnixMilli(n), Key: kafkago.NewBytes([]byte(k)), Value: kafkago.NewBytes([]byte(v))})
		}
		resp, err := client.Produce(context.Background(), &kafkago.ProduceRequest{
			Topic: "t", Partition: p, RequiredAcks: kafkago.RequireAll, Records: kafkago.NewRecordReader(records...),
		})
		if err == nil {
			err = resp.Error
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return cfg
}

// --until-caught-up: at the end every pending batch goes out, in order,
// however large the lateness; with --with-meta the value is wrapped.
func TestKafkaEventUntilCaughtUp(t *testing.T) {
	cfg := kafkaEventBroker(t, []string{"a=1@1000", "b=2@5500"}, []string{"c=3@1200"})
	var got collect
	src := NewKafka(KafkaConfig{Common: testCommon(nil), Conn: cfg, UntilCaughtUp: true, EventTime: true, Lateness: 10000})
	if err := src.Run(context.Background(), &got); err != nil {
		t.Fatal(err)
	}
	want := "2000: a=1 c=3; 3000:; 4000:; 5000:; 6000: b=2"
	if s := strings.Join(got.batches(), "; "); s != want {
		t.Errorf("got  %s\nwant %s", s, want)
	}

	got = collect{}
	src = NewKafka(KafkaConfig{Common: testCommon(nil), Conn: cfg, UntilCaughtUp: true, EventTime: true, WithMeta: true,
		From: kafka.From{Kind: kafka.FromOffset, Offset: 1}})
	if err := src.Run(context.Background(), &got); err != nil {
		t.Fatal(err)
	}
	want = `6000: b={"topic":"t","partition":0,"offset":1,"timestamp":5500,"value":2}`
	if s := strings.Join(got.batches(), "; "); s != want {
		t.Errorf("got  %s\nwant %s", s, want)
	}
}

// Reading live, an empty partition (caught up at once) does not stall
// the others; a stop sends none of the pending batches.
func TestKafkaEventLive(t *testing.T) {
	cfg := kafkaEventBroker(t, []string{"a=1@1000", "b=2@2500", "c=3@4200"}, nil)
	got := collect{ch: make(chan string, 10)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- NewKafka(KafkaConfig{Common: testCommon(nil), Conn: cfg, EventTime: true}).Run(ctx, &got)
	}()
	var b []string
	for len(b) < 3 {
		select {
		case s := <-got.ch:
			b = append(b, s)
		case err := <-done:
			t.Fatalf("Run ended: %v", err)
		case <-time.After(10 * time.Second):
			t.Fatalf("got %q, want 3 batches", b)
		}
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run: %v, want context.Canceled", err)
	}
	if want := []string{"2000: a=1", "3000: b=2", "4000:"}; !slices.Equal(got.batches(), want) {
		t.Errorf("got %q, want %q", got.batches(), want)
	}
}

// runKafkaEventCP runs event-time produce --kafka with checkpoint
// directory dir, a barrier after every batch, lateness 1s: until caught
// up, or live until the batch stop goes out.
func runKafkaEventCP(t *testing.T, cfg kafka.Config, dir *checkpoint.Dir, late, stop string) []string {
	t.Helper()
	cp := &Checkpoints{Dir: dir, Every: 1, Config: "--kafka --event-time=timestamp", Late: late}
	if err := cp.Open(); err != nil {
		t.Fatal(err)
	}
	c := testCommon(nil)
	c.CP = cp
	got := barrierCollect{collect{ch: make(chan string, 100)}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	src := &Checkpointed{Src: NewKafka(KafkaConfig{Common: c, Conn: cfg, UntilCaughtUp: stop == "", EventTime: true, Lateness: 1000, Late: late}), CP: cp}
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx, &got) }()
	for stop != "" {
		select {
		case s := <-got.ch:
			if s == stop {
				cancel()
				stop = ""
			}
		case err := <-done:
			t.Fatalf("Run ended before %s: %v", stop, err)
		case <-time.After(10 * time.Second):
			t.Fatalf("no batch %s: got %q", stop, got.batches())
		}
	}
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	return got.batches()
}

// A restart reads every partition from the lowest offset still waiting
// for a batch, and skips what was read before the checkpoint's batch
// went out and belongs to it or an earlier one: the batches are those of
// a run that never stopped.
func TestKafkaEventCheckpointRestart(t *testing.T) {
	// a waits for batch 2000 while b (a later offset) goes out in 1000.
	cfg := kafkaEventBroker(t, []string{"a=1@1500", "b=2@100", "c=3@2600"}, []string{"d=4@2000"})
	whole, err := checkpoint.Open(t.TempDir(), "produce")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"1000: b=2", "BARRIER 1 1000", "2000: a=1", "BARRIER 2 2000", "3000: c=3 d=4", "BARRIER 3 3000"}
	if got := runKafkaEventCP(t, cfg, whole, "", ""); !slices.Equal(got, want) {
		t.Fatalf("uninterrupted: got %q\nwant %q", got, want)
	}

	dir, err := checkpoint.Open(t.TempDir(), "produce")
	if err != nil {
		t.Fatal(err)
	}
	if got := runKafkaEventCP(t, cfg, dir, "", "1000: b=2"); !slices.Equal(got, want[:2]) {
		t.Fatalf("run 1: got %q\nwant %q", got, want[:2])
	}
	rec, err := dir.ReadFile("source-1")
	if err != nil {
		t.Fatal(err)
	}
	// Partition 0: a (offset 0) waits, read to 3; partition 1: d waits.
	if first, _, _ := strings.Cut(string(rec), "\n"); first != "1000 0 0,0 3,1 2600,2000" {
		t.Errorf("source-1: %q, want \"1000 0 0,0 3,1 2600,2000\"", first)
	}
	if err := dir.Commit(1); err != nil {
		t.Fatal(err)
	}
	if got := runKafkaEventCP(t, cfg, dir, "", ""); !slices.Equal(got, want[2:]) {
		t.Fatalf("run 2: got %q\nwant %q", got, want[2:])
	}
}

// The --late file is cut back to its size at the committed checkpoint,
// and the late records read after it are written again: once each.
func TestKafkaEventCheckpointLate(t *testing.T) {
	// x (batch 1000) is late once batch 1000 went out: after 2600 with
	// a lateness of 1s.
	cfg := kafkaEventBroker(t, []string{"a=1@100", "b=2@2600", "x=9@300", "c=3@3500"})
	late := filepath.Join(t.TempDir(), "late.jsonl")
	dir, err := checkpoint.Open(t.TempDir(), "produce")
	if err != nil {
		t.Fatal(err)
	}
	run1 := runKafkaEventCP(t, cfg, dir, late, "2000:")
	if len(run1) < 4 || !slices.Equal(run1[:4], []string{"1000: a=1", "BARRIER 1 1000", "2000:", "BARRIER 2 2000"}) {
		t.Fatalf("run 1: got %q", run1)
	}
	if err := dir.Commit(1); err != nil {
		t.Fatal(err)
	}
	got := runKafkaEventCP(t, cfg, dir, late, "")
	if want := []string{"2000:", "BARRIER 2 2000", "3000: b=2", "BARRIER 3 3000", "4000: c=3", "BARRIER 4 4000"}; !slices.Equal(got, want) {
		t.Fatalf("run 2: got %q\nwant %q", got, want)
	}
	b, err := os.ReadFile(late)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"topic":"t","partition":0,"offset":2,"timestamp":300,"key":"x","value":9}` + "\n"; string(b) != want {
		t.Errorf("late file:\n%s\nwant\n%s", b, want)
	}
}

// A big batch goes out in chunks (More), partition by partition, each in
// offset order across them.
func TestKafkaEventChunks(t *testing.T) {
	e, got := eventFeed(t, 2, 0, "")
	e.k.p.chunk = 8
	for _, f := range []kafka.Fetched{
		fetch(1, 0, true, "c=3@100", "d=4@200"),
		fetch(0, 0, true, "a=1@300", "b=2@400", "x=9@1000"),
	} {
		if err := e.receive(f); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"1000: (more) a=1", "1000: (more) b=2", "1000: (more) c=3", "1000: d=4"}
	if b := got.batches(); !slices.Equal(b, want) {
		t.Errorf("got %q\nwant %q", b, want)
	}
}

// Before the first commit, a restart starts where the first run did
// (kafka-start), not at --from again.
func TestKafkaEventCheckpointStart(t *testing.T) {
	cfg := kafkaEventBroker(t, []string{"a=1@100"})
	dir, err := checkpoint.Open(t.TempDir(), "produce")
	if err != nil {
		t.Fatal(err)
	}
	run := func(untilCaughtUp bool) []string {
		cp := &Checkpoints{Dir: dir, Every: 1, Config: "--kafka --event-time=timestamp"}
		if err := cp.Open(); err != nil {
			t.Fatal(err)
		}
		c := testCommon(nil)
		c.CP = cp
		var got barrierCollect
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		src := NewKafka(KafkaConfig{Common: c, Conn: cfg, UntilCaughtUp: untilCaughtUp, EventTime: true, From: kafka.From{Kind: kafka.FromLatest}})
		if err := (&Checkpointed{Src: src, CP: cp}).Run(ctx, &got); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			t.Fatal(err)
		}
		return got.batches()
	}
	if got := run(false); len(got) != 0 {
		t.Fatalf("run 1: got %q, want nothing", got)
	}
	writeKafka(t, cfg, "b=2")
	if got := run(true); len(got) != 2 || !strings.HasSuffix(got[0], ": b=2") {
		t.Fatalf("run 2: got %q, want the batch of b and its barrier", got)
	}
	if b, err := dir.ReadFile(kafkaStartName); err != nil || string(b) != "1\n" {
		t.Errorf("kafka-start: %q, %v; want \"1\\n\"", b, err)
	}
}

type eventDiscard struct{}

func (eventDiscard) Emit(*frame.Batch) error { return nil }

// BenchmarkKafkaEvent measures event-time batching of fetched records,
// 4 partitions, 10 records of each per batch: no allocation per record.
func BenchmarkKafkaEvent(b *testing.B) {
	e, _ := eventFeed(b, 4, 0, "")
	e.k.out, e.k.p.out = eventDiscard{}, eventDiscard{}
	const n = 1000
	fs := make([]kafka.Fetched, 4)
	for i := range fs {
		fs[i] = kafka.Fetched{Index: i, Records: make([]kafka.Record, n)}
		for j := range fs[i].Records {
			fs[i].Records[j] = kafka.Record{Value: []byte("value"), Offset: int64(j)}
		}
	}
	b.ReportAllocs()
	ts := int64(0)
	for b.Loop() {
		for i := range fs {
			f := &fs[i]
			for j := range f.Records {
				f.Records[j].Time = ts + int64(j)*100
			}
			f.Next, f.HighWatermark = n, n+1
			if err := e.receive(*f); err != nil {
				b.Fatal(err)
			}
		}
		ts += n * 100
	}
	b.SetBytes(4 * n * 5)
}
