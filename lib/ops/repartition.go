package ops

import (
	"context"
	"fmt"
	"strconv"

	"dstream/lib/enum"
	"dstream/lib/frame"
	"dstream/lib/stage"

	"github.com/urfave/cli/v2"
)

// Repartition is Spark's DStream.repartition.
var Repartition = &stage.Spec{
	Name:      "repartition",
	Usage:     "spread every batch's records over N partitions",
	ArgsUsage: "N",
	Description: `repartition N gives every batch N partitions. --by round-robin (the default)
deals the records out in input order: the i-th record of the batch (counting
across its partitions; for a batch in chunks, within each chunk) goes to
partition i mod N, so with N=1 the batch is one
partition in input order. --by key puts a keyed record in partition
FNV-1a(key) mod N, so equal keys share a partition; an unkeyed record is an
error. Within a partition records keep their input order.

Example:
   produce --queue a.txt b.txt | repartition 4 | sink`,
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "by", Value: "round-robin", Usage: "how records are spread: round-robin or key"},
	},
	MinArgs: 1, MaxArgs: 1,
	Kind: stage.KindOperator,
	New:  newRepartition,
}

// Partitioning says how repartition spreads records.
type Partitioning int

// Partitionings.
const (
	ByRoundRobin Partitioning = iota
	ByKey
)

var partitioningNames = []string{"round-robin", "key"}

// ParsePartitioning parses a --by value.
func ParsePartitioning(s string) (Partitioning, error) {
	return enum.Parse[Partitioning]("partitioning", partitioningNames, s)
}

type repartition struct {
	n   int
	by  Partitioning
	out frame.Batch
}

func newRepartition(c *stage.Context) (any, error) {
	n, err := strconv.Atoi(c.Args().First())
	if err != nil || n < 1 {
		return nil, stage.Usagef("partition count %q: want a whole number of 1 or more", c.Args().First())
	}
	by, err := ParsePartitioning(c.String("by"))
	if err != nil {
		return nil, stage.Usagef("--by: %v", err)
	}
	return &repartition{n: n, by: by, out: frame.Batch{Partitions: make([]frame.Partition, n)}}, nil
}

func (r *repartition) Process(_ context.Context, b *frame.Batch, out stage.Emitter) error {
	r.out.Time, r.out.Interval, r.out.More = b.Time, b.Interval, b.More
	parts := r.out.Partitions
	for i := range parts {
		parts[i].Records = parts[i].Records[:0]
	}
	i := 0
	for _, p := range b.Partitions {
		for _, rec := range p.Records {
			dst := i % r.n
			if r.by == ByKey {
				if !rec.Keyed {
					return fmt.Errorf("batch %d: record %d has no key (--by key wants keyed records; use keyby first)", b.Time, i)
				}
				dst = int(fnv1a(rec.Key) % uint32(r.n))
			}
			parts[dst].Records = append(parts[dst].Records, rec)
			i++
		}
	}
	return out.Emit(&r.out)
}

// fnv1a is 32-bit FNV-1a (hash/fnv's New32a), inlined to keep the per-record
// path free of allocations.
func fnv1a(b []byte) uint32 {
	h := uint32(2166136261)
	for _, c := range b {
		h ^= uint32(c)
		h *= 16777619
	}
	return h
}
