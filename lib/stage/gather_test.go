package stage

import (
	"context"
	"strings"
	"testing"

	"dstream/lib/frame"
)

func TestGather(t *testing.T) {
	var got []string
	g := &Gather{F: func(_ context.Context, b *frame.Batch, _ Emitter) error {
		var parts []string
		for _, p := range b.Partitions {
			var vs []string
			for _, r := range p.Records {
				vs = append(vs, string(r.Value))
			}
			parts = append(parts, strings.Join(vs, " "))
		}
		got = append(got, strings.Join(parts, "|"))
		return nil
	}}
	chunk := func(t int64, more bool, parts ...string) *frame.Batch {
		b := &frame.Batch{Time: t, Interval: 1000, More: more}
		for _, p := range parts {
			var recs []frame.Record
			for _, v := range strings.Fields(p) {
				recs = append(recs, frame.Record{Value: []byte(v)})
			}
			b.Partitions = append(b.Partitions, frame.Partition{Records: recs})
		}
		return b
	}
	ctx := context.Background()
	for _, b := range []*frame.Batch{
		chunk(1000, false, "a", "b"),
		chunk(2000, true, "c1", "d1"), chunk(2000, true, "c2", ""), chunk(2000, false, "", "d2"),
	} {
		// The runtime reuses a chunk's memory after Process: Gather must copy.
		if err := g.Process(ctx, b, nil); err != nil {
			t.Fatal(err)
		}
		for _, p := range b.Partitions {
			for _, r := range p.Records {
				copy(r.Value, "XX")
			}
		}
	}
	if want := "a|b;c1 c2|d1 d2"; strings.Join(got, ";") != want {
		t.Errorf("got %s, want %s", strings.Join(got, ";"), want)
	}
	err := g.Process(ctx, chunk(3000, true, "x"), nil)
	if err == nil {
		err = g.Process(ctx, chunk(3000, false, "y", "z"), nil)
	}
	if err == nil || !strings.Contains(err.Error(), "a chunk of 2 partitions after chunks of 1") {
		t.Errorf("partition count change: got %v", err)
	}
}
