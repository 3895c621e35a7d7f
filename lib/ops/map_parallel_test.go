package ops

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"dstream/lib/frame"
	"dstream/lib/stage"
)

// parallelChunk makes a chunk of parts partitions of per records each,
// keyed "k<i%13>" and valued i (distinct across partitions); bad(p, i)
// may replace a record's text.
func parallelChunk(t int64, more bool, parts, per int, bad func(p, i int) string) *frame.Batch {
	lists := make([][]string, parts)
	for p := range lists {
		for i := range per {
			s := fmt.Sprintf("k%d\t%d", i%13, p*per+i+1)
			if bad != nil {
				if b := bad(p, i); b != "" {
					s = b
				}
			}
			lists[p] = append(lists[p], s)
		}
	}
	b := batch(t, lists...)
	b.More = more
	return b
}

// runParallel runs spec with args and --parallelism par over the chunks
// and returns the rendered output (or the error) and the --unparsable
// file's text.
func runParallel(t *testing.T, spec *stage.Spec, par int, withBad bool, in []*frame.Batch, args ...string) (out, side string) {
	t.Helper()
	badFile := filepath.Join(t.TempDir(), "bad.jsonl")
	all := []string{"--parallelism", fmt.Sprint(par)}
	if withBad {
		all = append(all, "--unparsable", badFile)
	}
	op := newStage(t, spec, nil, append(all, args...)...).(*exprOp)
	var got collect
	var err error
	for _, b := range in {
		if err = op.Process(context.Background(), b, &got); err != nil {
			break
		}
	}
	op.Close()
	if want := min(par, len(in[0].Partitions)); len(op.workers) != want {
		t.Errorf("--parallelism %d: %d workers, want %d", par, len(op.workers), want)
	}
	out = renderBatches(got)
	if err != nil {
		out += "error: " + err.Error()
	}
	if withBad {
		b, rerr := os.ReadFile(badFile)
		if rerr != nil {
			t.Fatal(rerr)
		}
		side = string(b)
	}
	return out, side
}

// TestExprParallelSameAsSequential checks that --parallelism 4 gives what
// --parallelism 1 does, output, errors and --unparsable lines, for every
// expression stage, on chunks big enough to be evaluated in parallel.
func TestExprParallelSameAsSequential(t *testing.T) {
	const parts, per = 4, 1500
	// Failures spread over every partition of both chunks.
	spread := func(p, i int) string {
		switch {
		case i%97 == 5:
			return "kx\tx"
		case i%101 == 7:
			return "k0\t0"
		}
		return ""
	}
	// A clean first chunk, then failures in partition 3 (at its first
	// record) and partition 1 (late): partition 1's is first in batch
	// order and must be the one reported.
	late := func(p, i int) string {
		if (p == 3 && i == 0) || (p == 1 && i == 1000) {
			return "kx\tx"
		}
		return ""
	}
	spreadIn := []*frame.Batch{parallelChunk(1000, true, parts, per, spread), parallelChunk(1000, false, parts, per, spread)}
	lateIn := []*frame.Batch{parallelChunk(1000, true, parts, per, nil), parallelChunk(1000, false, parts, per, late)}
	// An unkeyed record stops mapvalues and flatmapvalues even with
	// --unparsable; failures before it are written.
	unkeyed := func(p, i int) string {
		switch {
		case p == 2 && i == 700:
			return "nokey"
		case i%97 == 5:
			return "kx\tx"
		}
		return ""
	}
	unkeyedIn := []*frame.Batch{parallelChunk(1000, false, parts, per, unkeyed)}

	tests := []struct {
		spec *stage.Spec
		args []string
	}{
		{Map, []string{"100 / num(value)"}},
		{Map, []string{"pair(value, upper(key) + value)"}},
		{Filter, []string{"num(value) % 3 == 0"}},
		{FlatMap, []string{"--keep-key", "[num(value), 1000 / num(value)]"}},
		{KeyBy, []string{"num(value) % 7", "--value", "text(100 / num(value))"}},
		{KeyBy, []string{"text(10 / num(value))"}},
		{MapValues, []string{"num(value) * 2 + 1 / num(value)"}},
		{FlatMapValues, []string{"[value, 100 / num(value)]"}},
	}
	for _, tt := range tests {
		for _, withBad := range []bool{false, true} {
			inputs := map[string][]*frame.Batch{"spread": spreadIn, "late": lateIn}
			if tt.spec == MapValues || tt.spec == FlatMapValues {
				inputs["unkeyed"] = unkeyedIn
			}
			for name, in := range inputs {
				t.Run(fmt.Sprintf("%s %q unparsable=%v %s", tt.spec.Name, tt.args, withBad, name), func(t *testing.T) {
					out1, side1 := runParallel(t, tt.spec, 1, withBad, in, tt.args...)
					out4, side4 := runParallel(t, tt.spec, 4, withBad, in, tt.args...)
					if out1 != out4 {
						t.Errorf("--parallelism 4 output differs from 1:\n%s", firstDiff(out1, out4))
					}
					if side1 != side4 {
						t.Errorf("--parallelism 4 --unparsable file differs from 1:\n%s", firstDiff(side1, side4))
					}
					if name == "late" && strings.Contains(out1, "error:") && !strings.Contains(out1, "error: batch 1000, record 8500 (") {
						t.Errorf("want the error at record 8500 (chunk 1's 6000 + partition 0's 1500 + 1000), got %s", lastLine(out1))
					}
					if name == "unkeyed" && withBad && !strings.HasSuffix(out1, "error: batch 1000, record 3700 has no key ("+tt.spec.Name+" wants keyed records; use keyby first)") {
						t.Errorf("got %s", lastLine(out1))
					}
				})
			}
		}
	}
}

func firstDiff(a, b string) string {
	la, lb := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range max(len(la), len(lb)) {
		var x, y string
		if i < len(la) {
			x = la[i]
		}
		if i < len(lb) {
			y = lb[i]
		}
		if x != y {
			return fmt.Sprintf("line %d: %q (1) against %q (4)", i+1, x, y)
		}
	}
	return ""
}

func lastLine(s string) string { return s[strings.LastIndex(s, "\n")+1:] }

func TestExprParallelismFlag(t *testing.T) {
	for _, spec := range []*stage.Spec{Map, Filter, FlatMap, KeyBy, MapValues, FlatMapValues} {
		if _, err := buildStage(t, spec, "--parallelism", "-1", "value"); err == nil || err.Error() != "--parallelism -1: want 1 or more goroutines (or 0 for GOMAXPROCS)" {
			t.Errorf("%s --parallelism -1: got %v", spec.Name, err)
		}
	}
}

// BenchmarkExprParallel evaluates chunks of 4 partitions of 4096 records.
func BenchmarkExprParallel(b *testing.B) {
	in := parallelChunk(1000, false, 4, 4096, nil)
	n := 4 * 4096
	for _, src := range []string{"int(value) % 2 == 0", `upper(key) + ":" + string(int(value) * 3)`} {
		spec := Map
		if strings.HasSuffix(src, "== 0") {
			spec = Filter
		}
		for _, par := range []int{1, 4} {
			b.Run(fmt.Sprintf("%s/%s/par=%d", spec.Name, src, par), func(b *testing.B) {
				op := newStage(&testing.T{}, spec, nil, "--parallelism", fmt.Sprint(par), src).(stage.Operator)
				b.ReportAllocs()
				for b.Loop() {
					if err := op.Process(context.Background(), in, discardEmitter{}); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N)*float64(n)/b.Elapsed().Seconds()/1e6, "Mrec/s")
			})
		}
	}
}

type discardEmitter struct{}

func (discardEmitter) Emit(*frame.Batch) error { return nil }
