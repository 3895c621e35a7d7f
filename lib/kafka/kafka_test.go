package kafka

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"dstream/internal/kafkatest"
	"dstream/lib/frame"
)

func startBroker(t *testing.T, topics ...kafkatest.Topic) Config {
	t.Helper()
	c, err := kafkatest.Start(kafkatest.Config{Topics: topics})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return Config{Servers: c.ListenAddrs(), Retries: 2, Backoff: 10 * time.Millisecond}
}

func TestParseFrom(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want From
	}{
		{"earliest", From{Kind: FromEarliest}},
		{"latest", From{Kind: FromLatest}},
		{"0", From{Kind: FromOffset}},
		{"42", From{Kind: FromOffset, Offset: 42}},
		{"2024-05-01T12:00:00Z", From{Kind: FromTime, Time: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)}},
	} {
		got, err := ParseFrom(tc.in)
		if err != nil || got.Kind != tc.want.Kind || got.Offset != tc.want.Offset || !got.Time.Equal(tc.want.Time) {
			t.Errorf("ParseFrom(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "-1", "first", "2024-05-01", "1.5"} {
		if _, err := ParseFrom(bad); err == nil {
			t.Errorf("ParseFrom(%q): no error", bad)
		}
	}
}

func TestParseChoices(t *testing.T) {
	if p, err := ParsePartitioner("crc32"); err != nil || p != CRC32 {
		t.Errorf("crc32: %v %v", p, err)
	}
	if c, err := ParseCompression("zstd"); err != nil || compressionNames[c] != "zstd" {
		t.Errorf("zstd: %v %v", c, err)
	}
	if a, err := ParseAcks("none"); err != nil || a != AcksNone {
		t.Errorf("none: %v %v", a, err)
	}
	if _, err := ParseAcks("2"); err == nil {
		t.Error("acks 2: no error")
	}
}

// readAll reads every range up to its end and returns the records as
// "topic/partition/offset KEY=VALUE" (or "VALUE" when unkeyed).
func readAll(t *testing.T, cfg Config, from From) []string {
	t.Helper()
	ctx := context.Background()
	ranges, err := cfg.Ranges(ctx, from, true)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	client := cfg.Client()
	for i, r := range ranges {
		if r.Start >= r.End {
			continue
		}
		ch := make(chan Fetched, 1)
		go cfg.Read(ctx, client, i, r, ch)
		for f := range ch {
			if f.Err != nil {
				t.Fatal(f.Err)
			}
			if f.Done {
				break
			}
			for _, rec := range f.Records {
				s := fmt.Sprintf("%s/%d/%d ", r.Topic, r.Partition, rec.Offset)
				if rec.Keyed {
					s += string(rec.Key) + "="
				}
				got = append(got, s+string(rec.Value))
			}
		}
	}
	return got
}

func TestWriteRead(t *testing.T) {
	cfg := startBroker(t, kafkatest.Topic{Name: "t", Partitions: 2})
	cfg.Topics = []string{"t"}
	w, err := NewWriter(context.Background(), WriterConfig{Config: cfg, Compression: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	b := &frame.Batch{Time: 1000, Interval: 1000, Partitions: []frame.Partition{
		{Records: []frame.Record{{Key: []byte("a"), Value: []byte("1"), Keyed: true}, {Value: []byte("u1")}}},
		{Records: []frame.Record{{Value: []byte("empty key"), Keyed: true}, {Value: []byte("u2")}, {Key: []byte("a"), Value: []byte("2"), Keyed: true}}},
	}}
	if err := w.Process(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	// murmur2: "a" goes to partition 0 of 2, "" to 1; unkeyed records
	// round-robin from partition 0.
	want := "t/0/0 a=1,t/0/1 u1,t/0/2 a=2,t/1/0 =empty key,t/1/1 u2"
	if got := strings.Join(readAll(t, cfg, From{}), ","); got != want {
		t.Errorf("read %s\nwant %s", got, want)
	}
	want = "t/0/1 u1,t/0/2 a=2,t/1/1 u2"
	if got := strings.Join(readAll(t, cfg, From{Kind: FromOffset, Offset: 1}), ","); got != want {
		t.Errorf("--from 1: read %s\nwant %s", got, want)
	}
	if got := readAll(t, cfg, From{Kind: FromLatest}); len(got) != 0 {
		t.Errorf("--from latest: read %q, want nothing", got)
	}
}

func TestUnknownTopic(t *testing.T) {
	cfg := startBroker(t, kafkatest.Topic{Name: "t", Partitions: 1})
	cfg.Topics = []string{"t", "nope"}
	_, err := cfg.Partitions(context.Background())
	want := "--topic nope: no such topic on " + cfg.Servers[0] + " (dstream never creates topics: create it first)"
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}

func TestUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // a closed port: connection refused
	cfg := Config{Servers: []string{addr}, Topics: []string{"t"}, Retries: 3, Backoff: time.Millisecond}
	_, err = cfg.Partitions(context.Background())
	want := "--kafka " + addr + ": cannot reach the cluster after 3 attempts: dial tcp " + addr + ": connect: connection refused"
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}
