package frame

import (
	"fmt"

	"dstream/lib/enum"
)

// Header layout and limits; see the package documentation.
const (
	Magic0     = 'D'
	Magic1     = 'S'
	Version    = 1
	HeaderSize = 12

	// DefaultMaxSize is the default limit on a frame's payload and on a
	// batch's decoded size: 256 MiB.
	DefaultMaxSize = 256 << 20
)

// Type is a frame's type.
type Type byte

// Frame types.
const (
	TypeBatch   Type = 1
	TypeBarrier Type = 2
	TypeEOS     Type = 3
	TypeStop    Type = 4
)

func (t Type) String() string {
	switch t {
	case TypeBatch:
		return "BATCH"
	case TypeBarrier:
		return "BARRIER"
	case TypeEOS:
		return "EOS"
	case TypeStop:
		return "STOP"
	}
	return fmt.Sprintf("type %d", byte(t))
}

// FlagMore is the BATCH flag of a chunk that the next frame continues.
const FlagMore = 1

// Codec is a partition's compression.
type Codec byte

// Codecs.
const (
	CodecNone Codec = 0
	CodecS2   Codec = 1
	CodecZstd Codec = 2
)

var codecNames = []string{"none", "s2", "zstd"}

func (c Codec) String() string {
	if int(c) < len(codecNames) {
		return codecNames[c]
	}
	return fmt.Sprintf("codec %d", byte(c))
}

// ParseCodec parses a codec name: none, s2 or zstd.
func ParseCodec(s string) (Codec, error) {
	return enum.Parse[Codec]("compression", codecNames, s)
}

// UnmarshalText lets a Codec be a flag value.
func (c *Codec) UnmarshalText(b []byte) error {
	v, err := ParseCodec(string(b))
	if err != nil {
		return err
	}
	*c = v
	return nil
}

// Record is a key and a value. Keyed tells an empty key from no key.
type Record struct {
	Key   []byte
	Value []byte
	Keyed bool
}

// Partition is a slice of a batch's records.
type Partition struct {
	Records []Record
}

// Batch is the data of one batch interval, [Time-Interval, Time), or a chunk
// of it: More is set when the next BATCH frame continues the batch.
type Batch struct {
	Time       int64 // ms since the Unix epoch, end of the interval
	Interval   int64 // ms
	More       bool
	Partitions []Partition
}

// Len returns the number of records in all partitions.
func (b *Batch) Len() int {
	n := 0
	for i := range b.Partitions {
		n += len(b.Partitions[i].Records)
	}
	return n
}

// Clone returns a deep copy of b that shares no memory with it, for stages
// that keep a batch beyond the next read.
func (b *Batch) Clone() *Batch {
	size := 0
	for _, p := range b.Partitions {
		for _, r := range p.Records {
			size += len(r.Key) + len(r.Value)
		}
	}
	buf := make([]byte, 0, size)
	c := &Batch{Time: b.Time, Interval: b.Interval, More: b.More, Partitions: make([]Partition, len(b.Partitions))}
	for i, p := range b.Partitions {
		recs := make([]Record, len(p.Records))
		for j, r := range p.Records {
			start := len(buf)
			buf = append(buf, r.Key...)
			k := buf[start:len(buf):len(buf)]
			start = len(buf)
			buf = append(buf, r.Value...)
			recs[j] = Record{Key: k, Value: buf[start:len(buf):len(buf)], Keyed: r.Keyed}
		}
		c.Partitions[i].Records = recs
	}
	return c
}

// Barrier is the payload of a BARRIER frame: checkpoint ID is taken after the
// batch of time Time.
type Barrier struct {
	ID   uint64
	Time int64
}

// Frame is one decoded frame. Batch is set for TypeBatch, Barrier for
// TypeBarrier.
type Frame struct {
	Type    Type
	Batch   *Batch
	Barrier Barrier
}
