package ops

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"dstream/lib/frame"
	"dstream/lib/stage"
)

// sparkPairs is the input of Spark's BasicOperationsSuite "join",
// "leftOuterJoin", "rightOuterJoin" and "fullOuterJoin": s1.map(x => (x, 1))
// and s2.map(x => (x, "x")) over four batches.
func sparkPairs() (left, right []*frame.Batch) {
	l := [][]string{{"a", "b"}, {"a", ""}, {""}, {}}
	r := [][]string{{"a", "b"}, {"b", ""}, {}, {""}}
	for i := range l {
		var lp, rp []string
		for _, k := range l[i] {
			lp = append(lp, k+"\t1")
		}
		for _, k := range r[i] {
			rp = append(rp, k+"\tx")
		}
		left = append(left, batch(int64(i+1)*1000, lp))
		right = append(right, batch(int64(i+1)*1000, rp))
	}
	return left, right
}

// joined runs a two-input stage on aligned batches and shows its output
// batch by batch: "T: KEY=VALUE ...", partitions separated by "|".
func joined(t *testing.T, spec *stage.Spec, left, right []*frame.Batch) string {
	t.Helper()
	op := newStage(t, spec, nil, "other.frames").(stage.MultiOperator)
	if got := op.Inputs(); len(got) != 1 || got[0] != "other.frames" {
		t.Fatalf("Inputs() = %q", got)
	}
	var lines []string
	for i := range left {
		var out collect
		if err := op.ProcessAligned(context.Background(), []*frame.Batch{left[i], right[i]}, &out); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, fmt.Sprintf("%d: %s", left[i].Time, chunksOf(t, out)))
	}
	return strings.Join(lines, "\n")
}

// chunksOf merges the chunks of one output batch and shows its partitions.
func chunksOf(t *testing.T, out collect) string {
	t.Helper()
	var parts []string
	for i, b := range out {
		if b.More != (i < len(out)-1) {
			t.Fatalf("chunk %d of %d has More %v", i, len(out), b.More)
		}
		for p, part := range b.Partitions {
			if p == len(parts) {
				parts = append(parts, "")
			}
			for _, r := range part.Records {
				if !r.Keyed {
					t.Fatalf("unkeyed output record %q", r.Value)
				}
				parts[p] += " " + string(r.Key) + "=" + string(r.Value)
			}
		}
	}
	return strings.TrimSpace(strings.Join(parts, " |"))
}

func TestJoinAsSpark(t *testing.T) {
	l, r := sparkPairs()
	for _, tc := range []struct {
		spec *stage.Spec
		want string
	}{
		{Join, `1000: a=[1,"x"] b=[1,"x"]
2000: =[1,"x"]
3000: 
4000: `},
		{LeftOuterJoin, `1000: a=[1,"x"] b=[1,"x"]
2000: a=[1,null] =[1,"x"]
3000: =[1,null]
4000: `},
		{RightOuterJoin, `1000: a=[1,"x"] b=[1,"x"]
2000: b=[null,"x"] =[1,"x"]
3000: 
4000: =[null,"x"]`},
		{FullOuterJoin, `1000: a=[1,"x"] b=[1,"x"]
2000: a=[1,null] =[1,"x"] b=[null,"x"]
3000: =[1,null]
4000: =[null,"x"]`},
	} {
		if got := joined(t, tc.spec, l, r); got != tc.want {
			t.Errorf("%s: got\n%s\nwant\n%s", tc.spec.Name, got, tc.want)
		}
	}
}

func TestCogroupAsSpark(t *testing.T) {
	// BasicOperationsSuite "cogroup".
	keyed := func(tm int64, v string, keys ...string) *frame.Batch {
		var recs []string
		for _, k := range keys {
			recs = append(recs, k+"\t"+v)
		}
		return batch(tm, recs)
	}
	l := []*frame.Batch{keyed(1000, "1", "a", "a", "b"), keyed(2000, "1", "a", ""), keyed(3000, "1", ""), keyed(4000, "1")}
	r := []*frame.Batch{keyed(1000, "x", "a", "a", "b"), keyed(2000, "x", "b", ""), keyed(3000, "x"), keyed(4000, "x")}
	want := `1000: a=[[1,1],["x","x"]] b=[[1],["x"]]
2000: a=[[1],[]] =[[1],["x"]] b=[[],["x"]]
3000: =[[1],[]]
4000: `
	if got := joined(t, Cogroup, l, r); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestJoinOrderAndPartitions(t *testing.T) {
	// All pairs per key: each left record in order, with its matches in
	// order; a pair lands in its left record's partition (for
	// rightouterjoin, its right record's); right-only records of
	// fullouterjoin and cogroup go to the last partition.
	l := []*frame.Batch{batch(1000, []string{"k\tl1", "z\tl2"}, []string{"k\tl3"})}
	r := []*frame.Batch{batch(1000, []string{"k\tr1", "y\tr2", "k\tr3"})}
	for _, tc := range []struct {
		spec *stage.Spec
		want string
	}{
		{Join, `1000: k=["l1","r1"] k=["l1","r3"] | k=["l3","r1"] k=["l3","r3"]`},
		{LeftOuterJoin, `1000: k=["l1","r1"] k=["l1","r3"] z=["l2",null] | k=["l3","r1"] k=["l3","r3"]`},
		{RightOuterJoin, `1000: k=["l1","r1"] k=["l3","r1"] y=[null,"r2"] k=["l1","r3"] k=["l3","r3"]`},
		{FullOuterJoin, `1000: k=["l1","r1"] k=["l1","r3"] z=["l2",null] | k=["l3","r1"] k=["l3","r3"] y=[null,"r2"]`},
		{Cogroup, `1000: k=[["l1","l3"],["r1","r3"]] z=[["l2"],[]] | y=[[],["r2"]]`},
	} {
		if got := joined(t, tc.spec, l, r); got != tc.want {
			t.Errorf("%s: got\n%s\nwant\n%s", tc.spec.Name, got, tc.want)
		}
	}
}

func TestJoinJSONValues(t *testing.T) {
	l := []*frame.Batch{batch(1000, []string{"k\t{\"a\":1}", "k\ttrue", "k\tsay \"hi\""})}
	r := []*frame.Batch{batch(1000, []string{"k\t[1,2]"})}
	want := `1000: k=[{"a":1},[1,2]] k=[true,[1,2]] k=["say \"hi\"",[1,2]]`
	if got := joined(t, Join, l, r); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestJoinUnkeyed(t *testing.T) {
	for _, spec := range []*stage.Spec{Join, RightOuterJoin, Cogroup} {
		op := newStage(t, spec, nil, "o.frames").(stage.MultiOperator)
		err := op.ProcessAligned(context.Background(), []*frame.Batch{batch(1000, []string{"k\t1", "plain"}), batch(1000, []string{"k\t2"})}, &collect{})
		want := "batch 1000: record 1 of stdin has no key (" + spec.Name + " wants keyed records; use keyby first)"
		if err == nil || err.Error() != want {
			t.Errorf("%s: got %v, want %s", spec.Name, err, want)
		}
		err = op.ProcessAligned(context.Background(), []*frame.Batch{batch(1000, []string{"k\t1"}), batch(1000, []string{"plain"})}, &collect{})
		want = "batch 1000: record 0 of o.frames has no key (" + spec.Name + " wants keyed records; use keyby first)"
		if err == nil || err.Error() != want {
			t.Errorf("%s: got %v, want %s", spec.Name, err, want)
		}
	}
}

func TestJoinChunks(t *testing.T) {
	// 1000 x 1000 pairs of one key: far more than a chunk, emitted in
	// chunks of about frame.DefaultChunk bytes, More on all but the last.
	var lv, rv []string
	for i := range 1000 {
		lv = append(lv, fmt.Sprintf("k\t%d", i))
		rv = append(rv, fmt.Sprintf("k\t%d", i))
	}
	op := newStage(t, Join, nil, "o").(stage.MultiOperator)
	var out collect
	if err := op.ProcessAligned(context.Background(), []*frame.Batch{batch(1000, lv), batch(1000, rv)}, &out); err != nil {
		t.Fatal(err)
	}
	n, size := 0, 0
	for i, b := range out {
		if b.More != (i < len(out)-1) {
			t.Fatalf("chunk %d of %d has More %v", i, len(out), b.More)
		}
		n += b.Len()
		for _, r := range b.Partitions[0].Records {
			size += len(r.Key) + len(r.Value)
		}
	}
	if n != 1000*1000 || len(out) < size/frame.DefaultChunk {
		t.Fatalf("%d records in %d chunks (%d bytes)", n, len(out), size)
	}
	if last := out[len(out)-1].Partitions[0].Records; string(last[len(last)-1].Value) != "[999,999]" {
		t.Errorf("last pair %s", last[len(last)-1].Value)
	}
}

func TestUnion(t *testing.T) {
	// Spark's UnionRDD: the first input's partitions, then the next's.
	op := newStage(t, Union, nil, "b.frames", "c.frames").(stage.MultiOperator)
	if got := op.Inputs(); strings.Join(got, " ") != "b.frames c.frames" {
		t.Fatalf("Inputs() = %q", got)
	}
	var out collect
	in := []*frame.Batch{batch(1000, []string{"a1"}, []string{"k\ta2"}), batch(1000), batch(1000, []string{"c1", "c2"})}
	if err := op.ProcessAligned(context.Background(), in, &out); err != nil {
		t.Fatal(err)
	}
	if got, want := partitionsOf(out[0]), "[=a1] [k=a2] [=c1 =c2]"; len(out) != 1 || got != want || out[0].Time != 1000 {
		t.Errorf("got %d batches, %s, want %s", len(out), got, want)
	}
}

func BenchmarkJoin(b *testing.B) {
	// 1M records a side, 100k keys: 10M pairs a batch.
	const n, keys = 1_000_000, 100_000
	side := func(prefix string) *frame.Batch {
		recs := make([]frame.Record, n)
		for i := range recs {
			recs[i] = frame.Record{Key: fmt.Appendf(nil, "key%d", i%keys), Value: fmt.Appendf(nil, "%s%d", prefix, i), Keyed: true}
		}
		return &frame.Batch{Time: 1000, Interval: 1000, Partitions: []frame.Partition{{Records: recs}}}
	}
	in := []*frame.Batch{side("l"), side("r")}
	op := &joinOp{kind: innerJoin, name: "join", other: "o"}
	var pairs countEmitter
	b.ResetTimer()
	for range b.N {
		if err := op.ProcessAligned(context.Background(), in, &pairs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(pairs)/float64(b.N), "pairs/batch")
}

type countEmitter int

func (c *countEmitter) Emit(b *frame.Batch) error { *c += countEmitter(b.Len()); return nil }
