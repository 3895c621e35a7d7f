package ops

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"dstream/lib/frame"
	"dstream/lib/stage"
)

// run feeds batches (chunks included) to spec's stage built from args and
// returns its output batches as text: one "T: part|part" line per batch,
// records "k=v" (keyed) or "v" joined by spaces.
func run(t *testing.T, spec *stage.Spec, args []string, in ...*frame.Batch) (string, error) {
	t.Helper()
	op := newStage(t, spec, nil, args...).(stage.Operator)
	var out collect
	for _, b := range in {
		if err := op.Process(context.Background(), b, &out); err != nil {
			return batchesText(out), err
		}
	}
	return batchesText(out), nil
}

func batchesText(bs []*frame.Batch) string {
	var lines []string
	for _, b := range bs {
		var parts []string
		for _, p := range b.Partitions {
			var recs []string
			for _, r := range p.Records {
				if r.Keyed {
					recs = append(recs, string(r.Key)+"="+string(r.Value))
				} else {
					recs = append(recs, string(r.Value))
				}
			}
			parts = append(parts, strings.Join(recs, " "))
		}
		lines = append(lines, fmt.Sprintf("%d: %s", b.Time, strings.Join(parts, "|")))
	}
	return strings.Join(lines, "\n")
}

// more marks b as a chunk that the next batch continues.
func more(b *frame.Batch) *frame.Batch { b.More = true; return b }

func TestReduceByKey(t *testing.T) {
	in := []*frame.Batch{
		batch(1000, []string{"b\t94.65", "a\t1", "b\t2.49"}, []string{"a\t-3", "c\t10.5", "c\t9.5"}),
		batch(2000),
		more(batch(3000, []string{"x\t1"}, []string{"y\t5"})), batch(3000, []string{"y\t2"}, []string{"x\t3"}),
	}
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"sum"}, "1000: b=97.14 a=-2 c=20\n2000: \n3000: x=4 y=7"},
		{[]string{"min"}, "1000: b=2.49 a=-3 c=9.5\n2000: \n3000: x=1 y=2"},
		{[]string{"max"}, "1000: b=94.65 a=1 c=10.5\n2000: \n3000: x=3 y=5"},
		{[]string{"count"}, "1000: b=2 a=2 c=2\n2000: \n3000: x=2 y=2"},
		{[]string{"concat"}, "1000: b=94.65,2.49 a=1,-3 c=10.5,9.5\n2000: \n3000: x=1,3 y=5,2"},
		{[]string{"--sep", " ", "concat"}, "1000: b=94.65 2.49 a=1 -3 c=10.5 9.5\n2000: \n3000: x=1 3 y=5 2"},
		{[]string{"first"}, "1000: b=94.65 a=1 c=10.5\n2000: \n3000: x=1 y=5"},
		{[]string{"last"}, "1000: b=2.49 a=-3 c=9.5\n2000: \n3000: x=3 y=2"},
		// FNV-1a mod 2: a 0, b 1, c 0; x 1, y 0.
		{[]string{"--partitions", "2", "sum"}, "1000: a=-2 c=20|b=97.14\n2000: |\n3000: y=7|x=4"},
		{[]string{"--expr", "a + b"}, "1000: b=97.14 a=-2 c=20\n2000: \n3000: x=4 y=7"},
		{[]string{"--expr", "max(a, b)"}, "1000: b=94.65 a=1 c=10.5\n2000: \n3000: x=3 y=5"},
	}
	for _, tt := range tests {
		got, err := run(t, ReduceByKey, tt.args, in...)
		if err != nil || got != tt.want {
			t.Errorf("reducebykey %v:\ngot  %q, %v\nwant %q", tt.args, got, err, tt.want)
		}
	}
}

func TestReduceByKeyErrors(t *testing.T) {
	tests := []struct {
		args []string
		in   *frame.Batch
		want string
	}{
		{[]string{"sum"}, batch(1000, []string{"a\t1"}, []string{"b\tx"}), `batch 1000: record 1 (key "b"): "x" is not a decimal number (sum wants numbers like 12, -3.25 or 1e3)`},
		{[]string{"max"}, batch(1000, []string{"a\t1", "a\t"}), `batch 1000: record 1 (key "a"): "" is not a decimal number (max wants numbers like 12, -3.25 or 1e3)`},
		{[]string{"count"}, batch(1000, []string{"a\t1", "plain"}), `batch 1000: record 1 has no key (reducebykey wants keyed records; use keyby first)`},
		{[]string{"--expr", "a + b"}, batch(1000, []string{"a\t1", "a\tx"}), `batch 1000: record 1 (key "a"): --expr a + b: invalid operation: int + string`},
	}
	for _, tt := range tests {
		_, err := run(t, ReduceByKey, tt.args, tt.in)
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("reducebykey %v: got %v, want %s", tt.args, err, tt.want)
		}
	}
}

// TestReduceByKeyNoAlloc: after a first batch has sized the buffers, a
// batch of known keys costs no allocation per record.
func TestReduceByKeyNoAlloc(t *testing.T) {
	var recs []string
	for i := range 1000 {
		recs = append(recs, fmt.Sprintf("k%d\t%d.%02d", i%10, i, i%100))
	}
	in := batch(1000, recs)
	for _, fn := range []string{"sum", "count", "max", "last"} {
		op := newStage(t, ReduceByKey, nil, fn).(stage.Operator)
		out := discard{}
		op.Process(context.Background(), in, out)
		n := testing.AllocsPerRun(10, func() {
			if err := op.Process(context.Background(), in, out); err != nil {
				t.Fatal(err)
			}
		})
		// New keys (10 strings) and the emitted partitions are per batch.
		if n > 20 {
			t.Errorf("reducebykey %s: %.0f allocations for a batch of 1000 records", fn, n)
		}
	}
}

type discard struct{}

func (discard) Emit(*frame.Batch) error { return nil }

func TestReducerMerge(t *testing.T) {
	vals := []string{"3", "-1.5", "10", "2.25", "7"}
	for _, fn := range reduceFnNames {
		f, _ := ParseReduceFn(fn)
		r := &Reducer{Fn: f, Sep: []byte(";")}
		var whole Acc
		for _, v := range vals {
			r.Add(&whole, []byte(v))
		}
		for cut := 0; cut <= len(vals); cut++ {
			var a, b Acc
			for _, v := range vals[:cut] {
				r.Add(&a, []byte(v))
			}
			for _, v := range vals[cut:] {
				r.Add(&b, []byte(v))
			}
			r.Merge(&a, &b)
			if got, want := string(r.Append(nil, &a)), string(r.Append(nil, &whole)); got != want {
				t.Errorf("%s merged at %d: %s, want %s", fn, cut, got, want)
			}
		}
	}
}

func BenchmarkReduceByKeySum(b *testing.B) {
	var recs []string
	for i := range 20000 {
		recs = append(recs, fmt.Sprintf("%03d-ABC-%03d\t%d.%02d", i%4, i%4, i%1000, i%100))
	}
	in := batch(1000, recs)
	op := newStage(&testing.T{}, ReduceByKey, nil, "sum").(stage.Operator)
	b.ReportAllocs()
	for b.Loop() {
		op.Process(context.Background(), in, discard{})
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(recs)), "ns/record")
}

// Reducing a chunk's partitions in parallel gives what reducing them one
// after another gives: the same keys in the same order, the same values,
// and the same first error.
func TestReduceByKeyParallelSameAsSequential(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	chunk := func(tm int64, more bool, bad string) *frame.Batch {
		b := &frame.Batch{Time: tm, Interval: 1000, More: more}
		for p := range 4 {
			var recs []frame.Record
			for i := range 3000 {
				v := fmt.Sprintf("%d.%d", rng.IntN(1000)-500, rng.IntN(100))
				if bad != "" && p >= 2 && i == 1500+p {
					v = bad
				}
				recs = append(recs, frame.Record{Key: []byte(fmt.Sprintf("k%d", rng.IntN(5000))), Value: []byte(v), Keyed: bad != "unkeyed" || p < 2 || i != 1500+p})
			}
			b.Partitions = append(b.Partitions, frame.Partition{Records: recs})
		}
		return b
	}
	in := []*frame.Batch{chunk(1000, true, ""), chunk(1000, false, ""), chunk(2000, false, "")}
	bad := []*frame.Batch{chunk(1000, true, ""), chunk(1000, false, "x")}
	unkeyed := []*frame.Batch{chunk(1000, false, "unkeyed")}
	run := func(batches []*frame.Batch, args ...string) string {
		op := newStage(t, ReduceByKey, nil, args...).(stage.Operator)
		var out collect
		for _, b := range batches {
			if err := op.Process(context.Background(), b, &out); err != nil {
				return renderTimed(out) + "error: " + err.Error()
			}
		}
		return renderTimed(out)
	}
	for _, fn := range []string{"sum", "min", "max", "count", "concat", "first", "last"} {
		for _, batches := range [][]*frame.Batch{in, bad, unkeyed} {
			want := run(batches, "--parallelism", "1", fn)
			if got := run(batches, "--parallelism", "4", fn); got != want {
				t.Fatalf("%s: --parallelism 4 differs from 1: %s", fn, firstDiff(got, want))
			}
		}
	}
	if got := run(bad, "--parallelism", "4", "sum"); !strings.Contains(got, `error: batch 1000: record 19502 (key "k`) {
		t.Errorf("bad value: %s", lastLine(got))
	}
	if got := run(unkeyed, "--parallelism", "4", "sum"); !strings.HasSuffix(got, "error: batch 1000: record 7502 has no key (reducebykey wants keyed records; use keyby first)") {
		t.Errorf("unkeyed: %s", lastLine(got))
	}
}
