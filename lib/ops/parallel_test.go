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

// chunksForParallel makes a batch in two chunks and a second batch, of 3
// partitions of 3000 keyed records each (values from value), with an
// unkeyed record at partition 2, record 100 of the last batch when
// unkeyed is set.
func chunksForParallel(seed uint64, unkeyed bool, value func(rng *rand.Rand) string) []*frame.Batch {
	rng := rand.New(rand.NewPCG(seed, seed+1))
	var in []*frame.Batch
	for c := range 3 {
		b := &frame.Batch{Time: int64(1000 + 1000*(c/2)), Interval: 1000, More: c == 0}
		for p := range 3 {
			var recs []frame.Record
			for i := range 3000 {
				r := frame.Record{Key: []byte(fmt.Sprintf("k%d", rng.IntN(2000))), Value: []byte(value(rng)), Keyed: true}
				if unkeyed && c == 2 && p == 2 && i == 100 {
					r.Key, r.Keyed = nil, false
				}
				recs = append(recs, r)
			}
			b.Partitions = append(b.Partitions, frame.Partition{Records: recs})
		}
		in = append(in, b)
	}
	return in
}

// checkParallel fails unless spec's stage (args) gives the same output,
// and the same error, with --parallelism 3 as with 1.
func checkParallel(t *testing.T, spec *stage.Spec, in []*frame.Batch, args ...string) string {
	t.Helper()
	run := func(par string) string {
		op := newStage(t, spec, nil, append([]string{"--parallelism", par}, args...)...).(stage.Operator)
		var out collect
		for _, b := range in {
			if err := op.Process(context.Background(), b, &out); err != nil {
				return renderTimed(out) + "error: " + err.Error()
			}
		}
		return renderTimed(out)
	}
	want := run("1")
	if got := run("3"); got != want {
		t.Fatalf("%s %v: --parallelism 3 differs from 1: %s", spec.Name, args, firstDiff(got, want))
	}
	return want
}

func TestGroupByKeyParallel(t *testing.T) {
	values := func(rng *rand.Rand) string {
		return []string{"1", "x", `{"a":1}`, "2.50", `"q"`}[rng.IntN(5)]
	}
	checkParallel(t, GroupByKey, chunksForParallel(1, false, values))
	got := checkParallel(t, GroupByKey, chunksForParallel(2, true, values))
	if want := "error: batch 2000: record 6100 has no key (groupbykey wants keyed records; use keyby first)"; lastLine(got) != want {
		t.Fatalf("got %q, want %q", lastLine(got), want)
	}
}

func TestReduceParallel(t *testing.T) {
	for _, fn := range []string{"sum", "min", "max", "count", "concat", "first", "last"} {
		checkParallel(t, Reduce, chunksForParallel(4, false, func(rng *rand.Rand) string {
			return fmt.Sprintf("%d.%d", rng.IntN(1000)-500, rng.IntN(100))
		}), fn)
	}
	got := checkParallel(t, Reduce, chunksForParallel(5, false, func(rng *rand.Rand) string {
		if rng.IntN(5000) == 0 {
			return "x"
		}
		return "1"
	}), "sum")
	if want := `error: batch 1000: record 10946: "x" is not a decimal number (sum wants numbers like 12, -3.25 or 1e3)`; lastLine(got) != want {
		t.Fatalf("got %q, want %q", lastLine(got), want)
	}
}

func TestCombineByKeyParallel(t *testing.T) {
	args := []string{"--create", "[num(value), 1]", "--merge-value", "[a[0] + num(value), a[1] + 1]", "--merge-combiners", "[a[0] + b[0], a[1] + b[1]]"}
	values := func(rng *rand.Rand) string { return fmt.Sprint(rng.IntN(100)) }
	checkParallel(t, CombineByKey, chunksForParallel(6, false, values), args...)
	got := checkParallel(t, CombineByKey, chunksForParallel(7, true, values), args...)
	if want := "error: batch 2000: record 6100 has no key (combinebykey wants keyed records; use keyby first)"; lastLine(got) != want {
		t.Fatalf("got %q, want %q", lastLine(got), want)
	}
	bad := chunksForParallel(8, false, func(rng *rand.Rand) string {
		if rng.IntN(4000) == 0 {
			return "x"
		}
		return "1"
	})
	got = checkParallel(t, CombineByKey, bad, args...)
	if !strings.Contains(lastLine(got), "error: batch ") || !strings.Contains(lastLine(got), "num(value)") {
		t.Fatalf("bad value: %q", lastLine(got))
	}
}
