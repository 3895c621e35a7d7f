package kafka

import (
	"context"
	"strings"
	"testing"

	"dstream/internal/kafkatest"
	"dstream/lib/frame"
)

func keyed(kvs ...string) []frame.Record {
	var recs []frame.Record
	for i := 0; i < len(kvs); i += 2 {
		recs = append(recs, frame.Record{Key: []byte(kvs[i]), Value: []byte(kvs[i+1]), Keyed: true})
	}
	return recs
}

// TestByKeyUnkeyed: with ByKey an unkeyed record fails its chunk before
// any of the chunk is written, numbered in its batch (earlier chunks
// count), and the numbering starts again with the next batch.
func TestByKeyUnkeyed(t *testing.T) {
	cfg := startBroker(t, kafkatest.Topic{Name: "t", Partitions: 1})
	cfg.Topics = []string{"t"}
	w, err := NewWriter(context.Background(), WriterConfig{Config: cfg, ByKey: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	ctx := context.Background()
	chunk1 := &frame.Batch{Time: 1000, Interval: 1000, More: true, Partitions: []frame.Partition{{Records: keyed("a", "1")}, {Records: keyed("b", "2")}}}
	if err := w.Process(ctx, chunk1); err != nil {
		t.Fatal(err)
	}
	chunk2 := &frame.Batch{Time: 1000, Interval: 1000, Partitions: []frame.Partition{
		{Records: keyed("c", "3")},
		{Records: append(keyed("d", "4"), frame.Record{Value: []byte("u")})},
	}}
	err = w.Process(ctx, chunk2)
	want := "batch 1000: record 4 has no key (--by-key wants keyed records; use keyby first)"
	if err == nil || err.Error() != want {
		t.Errorf("chunk 2: got %v, want %s", err, want)
	}
	if got, want := strings.Join(readAll(t, cfg, From{}), ","), "t/0/0 a=1,t/0/1 b=2"; got != want {
		t.Errorf("read %s\nwant %s", got, want)
	}
	next := &frame.Batch{Time: 2000, Interval: 1000, Partitions: []frame.Partition{{Records: []frame.Record{{Value: []byte("u")}}}}}
	err = w.Process(ctx, next)
	want = "batch 2000: record 0 has no key (--by-key wants keyed records; use keyby first)"
	if err == nil || err.Error() != want {
		t.Errorf("next batch: got %v, want %s", err, want)
	}
}

// TestByKeyStable: with ByKey a key, the empty one included, goes to one
// partition under every partitioner: crc32 too, which without ByKey sends
// an empty key at random as librdkafka does.
func TestByKeyStable(t *testing.T) {
	for _, p := range []Partitioner{Murmur2, CRC32, Hash} {
		t.Run(partitionerNames[p], func(t *testing.T) {
			cfg := startBroker(t, kafkatest.Topic{Name: "t", Partitions: 4})
			cfg.Topics = []string{"t"}
			w, err := NewWriter(context.Background(), WriterConfig{Config: cfg, Partitioner: p, ByKey: true})
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			var recs []frame.Record
			for range 20 {
				recs = append(recs, keyed("", "e", "k", "v")...)
			}
			for i := range 2 {
				b := &frame.Batch{Time: int64(i+1) * 1000, Interval: 1000, Partitions: []frame.Partition{{Records: recs}}}
				if err := w.Process(context.Background(), b); err != nil {
					t.Fatal(err)
				}
			}
			parts := map[string]map[string]bool{}
			for _, r := range readAll(t, cfg, From{}) {
				// "t/PARTITION/OFFSET KEY=VALUE"
				loc, kv, _ := strings.Cut(r, " ")
				key, _, _ := strings.Cut(kv, "=")
				p := strings.Split(loc, "/")[1]
				if parts[key] == nil {
					parts[key] = map[string]bool{}
				}
				parts[key][p] = true
			}
			if len(parts) != 2 || len(parts[""]) != 1 || len(parts["k"]) != 1 {
				t.Errorf("partitions of each key: %v, want one each", parts)
			}
		})
	}
}
