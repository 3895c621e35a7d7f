package kafka

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	kafka "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol"
)

// FromKind says where reading starts.
type FromKind int

// Where reading starts.
const (
	FromEarliest FromKind = iota // the first offset still kept
	FromLatest                   // the end: only what is written from now on
	FromOffset                   // the same offset in every partition
	FromTime                     // the first record at or after a time
)

// From is a --from choice.
type From struct {
	Kind   FromKind
	Offset int64
	Time   time.Time
}

// ParseFrom parses --from: earliest, latest, an OFFSET (a whole number) or
// a TIME (RFC 3339, as 2024-05-01T12:00:00Z).
func ParseFrom(s string) (From, error) {
	switch s {
	case "earliest":
		return From{Kind: FromEarliest}, nil
	case "latest":
		return From{Kind: FromLatest}, nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && n >= 0 {
		return From{Kind: FromOffset, Offset: n}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return From{Kind: FromTime, Time: t}, nil
	}
	return From{}, fmt.Errorf("%q: want earliest, latest, an OFFSET (0 or more) or a TIME like 2024-05-01T12:00:00Z", s)
}

// Range is a partition to read and where: from Start up to End (exclusive),
// or for ever when End < 0.
type Range struct {
	Topic      string
	Partition  int
	Start, End int64
}

// Ranges returns every partition of c.Topics, in the order of c.Topics and
// of partition numbers, with its start offset per from and, with
// caughtUp, its end offset now (the high watermark).
func (c Config) Ranges(ctx context.Context, from From, caughtUp bool) ([]Range, error) {
	parts, err := c.Partitions(ctx)
	if err != nil {
		return nil, err
	}
	client := c.Client()
	defer CloseClient(client) // a client for start-up only
	var ranges []Range
	for _, t := range c.Topics {
		first, err := listOffsets(ctx, client, t, parts[t], kafka.FirstOffset)
		if err != nil {
			return nil, err
		}
		last, err := listOffsets(ctx, client, t, parts[t], kafka.LastOffset)
		if err != nil {
			return nil, err
		}
		var at map[int]int64
		if from.Kind == FromTime {
			if at, err = listOffsets(ctx, client, t, parts[t], from.Time.UnixMilli()); err != nil {
				return nil, err
			}
		}
		for _, p := range parts[t] {
			r := Range{Topic: t, Partition: p, End: -1}
			switch from.Kind {
			case FromEarliest:
				r.Start = first[p]
			case FromLatest:
				r.Start = last[p]
			case FromOffset:
				if from.Offset < first[p] || from.Offset > last[p] {
					return nil, fmt.Errorf("--from %d: out of range in topic %s partition %d, whose offsets run from %d to the end offset %d", from.Offset, t, p, first[p], last[p])
				}
				r.Start = from.Offset
			case FromTime:
				r.Start = at[p]
				if r.Start < 0 { // no record that late
					r.Start = last[p]
				}
			}
			if caughtUp {
				r.End = last[p]
			}
			ranges = append(ranges, r)
		}
	}
	return ranges, nil
}

// listOffsets asks for one offset of every partition: the first, the last,
// or the first at a time (ms); -1 when there is none.
func listOffsets(ctx context.Context, client *kafka.Client, topic string, parts []int, ts int64) (map[int]int64, error) {
	req := make([]kafka.OffsetRequest, len(parts))
	for i, p := range parts {
		req[i] = kafka.OffsetRequest{Partition: p, Timestamp: ts}
	}
	resp, err := client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{topic: req}})
	if err != nil {
		return nil, fmt.Errorf("topic %s: listing offsets: %v", topic, unwrapNet(err))
	}
	out := make(map[int]int64, len(parts))
	for _, p := range resp.Topics[topic] {
		if p.Error != nil {
			return nil, fmt.Errorf("topic %s partition %d: listing offsets: %v", topic, p.Partition, p.Error)
		}
		switch ts {
		case kafka.FirstOffset:
			out[p.Partition] = p.FirstOffset
		case kafka.LastOffset:
			out[p.Partition] = p.LastOffset
		default:
			out[p.Partition] = -1
			for off := range p.Offsets {
				out[p.Partition] = off
			}
		}
	}
	for _, p := range parts {
		if _, ok := out[p]; !ok {
			return nil, fmt.Errorf("topic %s partition %d: no offset in the broker's answer", topic, p)
		}
	}
	return out, nil
}

// Record is a record read from a partition. Its bytes are in its Fetched's
// buffer.
type Record struct {
	Key, Value []byte
	Keyed      bool // a null key is no key; an empty one is a key
	Offset     int64
	Time       int64 // the Kafka timestamp, ms since the epoch
}

// Fetched is what one fetch of a partition gave.
type Fetched struct {
	Index   int // the partition's index in the ranges
	Records []Record
	// Next is the offset to fetch next: past Records, and past the
	// control records after them, so a reader of the offsets knows how far
	// the partition was read even when a fetch held only control records.
	Next int64
	// HighWatermark is the partition's end offset as the fetch saw it
	// (kafka-go's FetchResponse.HighWatermark): Next >= HighWatermark
	// says reading has caught up, which event time needs to know so that
	// an idle partition does not hold the others back. A fetch that finds
	// a partition caught up with nothing new is sent once, without
	// records, so that an empty or idle partition says so too.
	HighWatermark int64
	Done          bool  // the partition reached its end offset: nothing follows
	Err           error // reading failed: nothing follows
	// Lost says Kafka no longer had the records from where reading stood
	// (--on-data-loss earliest): reading skipped them, to Next.
	Lost bool
}

// lost is what reading does when offset off of r is out of range: with
// DataLossEarliest, it returns the earliest offset kept, when past off
// (retention deleted records before they were read); otherwise an error.
func (c Config) lost(ctx context.Context, client *kafka.Client, r Range, off int64) (int64, error) {
	first, err := listOffsets(ctx, client, r.Topic, []int{r.Partition}, kafka.FirstOffset)
	if err != nil {
		return 0, err
	}
	if f := first[r.Partition]; f > off {
		if c.OnDataLoss == DataLossEarliest {
			return f, nil
		}
		return 0, fmt.Errorf("topic %s partition %d: offsets %d to %d were deleted (retention) before they were read (--on-data-loss earliest skips them)", r.Topic, r.Partition, off, f)
	}
	return 0, fmt.Errorf("topic %s partition %d: offset %d is past the partition's end (was the topic made again?)", r.Topic, r.Partition, off)
}

// Bounds returns, for the partitions of ranges at idx, the earliest offset
// Kafka keeps and the end offset (the next to be written).
func (c Config) Bounds(ctx context.Context, client *kafka.Client, ranges []Range, idx []int) (first, end map[int]int64, err error) {
	byTopic := map[string][]int{}
	for _, i := range idx {
		byTopic[ranges[i].Topic] = append(byTopic[ranges[i].Topic], ranges[i].Partition)
	}
	first, end = map[int]int64{}, map[int]int64{}
	for t, parts := range byTopic {
		f, err := listOffsets(ctx, client, t, parts, kafka.FirstOffset)
		if err != nil {
			return nil, nil, err
		}
		e, err := listOffsets(ctx, client, t, parts, kafka.LastOffset)
		if err != nil {
			return nil, nil, err
		}
		for _, i := range idx {
			if r := ranges[i]; r.Topic == t {
				first[i], end[i] = f[r.Partition], e[r.Partition]
			}
		}
	}
	return first, end, nil
}

// Read reads range r of the ranges (index i) and sends what every fetch
// gives to out, in offset order, until r.End, an error or ctx's end.
// Transaction control records are dropped (kafka-go hands them over as
// records); records of aborted transactions are not, as kafka-go does not
// give the aborted-transaction list a read_committed consumer needs.
// 4*c.Retries consecutive failed fetches, c.Backoff apart, fail reading:
// more than at start, as a running pipeline rides out a broker restart.
func (c Config) Read(ctx context.Context, client *kafka.Client, i int, r Range, out chan<- Fetched) {
	send := func(f Fetched) bool {
		f.Index = i
		select {
		case out <- f:
			return true
		case <-ctx.Done():
			return false
		}
	}
	off := r.Start
	failures := 0
	caught := false // the last fetch sent found the partition caught up
	for r.End < 0 || off < r.End {
		resp, err := client.Fetch(ctx, &kafka.FetchRequest{
			Topic: r.Topic, Partition: r.Partition, Offset: off,
			MinBytes: 1, MaxBytes: 8 << 20, MaxWait: 250 * time.Millisecond,
		})
		if err == nil && resp.Error != nil {
			err = resp.Error
			if errors.Is(err, kafka.OffsetOutOfRange) {
				next, err := c.lost(ctx, client, r, off)
				if err != nil {
					send(Fetched{Err: err})
					return
				}
				if !send(Fetched{Lost: true, Next: next}) {
					return
				}
				off = next
				continue
			}
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if failures++; failures >= c.Retries*4 {
				send(Fetched{Err: fmt.Errorf("topic %s partition %d: reading at offset %d failed %d times: %v", r.Topic, r.Partition, off, failures, unwrapNet(err))})
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(c.Backoff):
			}
			continue
		}
		failures = 0
		f, next, err := records(resp.Records, off, r.End)
		if c, ok := resp.Records.(io.Closer); ok {
			c.Close()
		}
		if err != nil {
			send(Fetched{Err: fmt.Errorf("topic %s partition %d: reading at offset %d: %v", r.Topic, r.Partition, off, err)})
			return
		}
		advanced := next > off
		off, f.Next, f.HighWatermark = next, next, resp.HighWatermark
		// An empty fetch is news only when it first finds the partition
		// caught up; otherwise a reader of an idle partition would send
		// every MaxWait.
		now := resp.HighWatermark >= 0 && next >= resp.HighWatermark
		if (advanced || (now && !caught)) && !send(f) {
			return
		}
		caught = now
	}
	send(Fetched{Done: true})
}

// records copies the records at offsets [off, end) of a fetch into one
// buffer, and returns the offset to fetch next.
func records(rr protocol.RecordReader, off, end int64) (Fetched, int64, error) {
	var f Fetched
	var buf []byte
	type span struct{ k, v, kl, vl int }
	var spans []span
	var batches []protocol.RecordReader
	if s, ok := rr.(*protocol.RecordStream); ok {
		batches = s.Records
	} else {
		batches = []protocol.RecordReader{rr}
	}
	for _, b := range batches {
		control := false
		if cb, ok := b.(*protocol.ControlBatch); ok {
			control, b = true, cb.Records
		}
		for {
			rec, err := b.ReadRecord()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return f, off, err
			}
			if rec.Offset < off || (end >= 0 && rec.Offset >= end) {
				continue // a batch may start before off
			}
			off = rec.Offset + 1
			if control {
				continue
			}
			s := span{k: len(buf), kl: -1}
			if rec.Key != nil {
				if buf, err = appendBytes(buf, rec.Key); err != nil {
					return f, off, err
				}
				s.kl = len(buf) - s.k
			}
			s.v = len(buf)
			if rec.Value != nil {
				if buf, err = appendBytes(buf, rec.Value); err != nil {
					return f, off, err
				}
			}
			s.vl = len(buf) - s.v
			spans = append(spans, s)
			f.Records = append(f.Records, Record{Offset: rec.Offset, Time: rec.Time.UnixMilli()})
		}
	}
	// The slices are cut once buf has stopped growing.
	for i, s := range spans {
		r := &f.Records[i]
		if s.kl >= 0 {
			r.Key, r.Keyed = buf[s.k:s.k+s.kl:s.k+s.kl], true
		}
		r.Value = buf[s.v : s.v+s.vl : s.v+s.vl]
	}
	return f, off, nil
}

func appendBytes(buf []byte, b protocol.Bytes) ([]byte, error) {
	n := b.Len()
	buf = append(buf, make([]byte, n)...)
	_, err := io.ReadFull(b, buf[len(buf)-n:])
	return buf, err
}
