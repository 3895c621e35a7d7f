package ops

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"dstream/lib/expr"
	"dstream/lib/frame"
	"dstream/lib/stage"
)

// Spark's WindowOperationsSuite reduceByKeyAndWindow tests. "sum" is the
// invertible path (reduceByKeyAndWindow(_ + _, _ - _, ...) with the filter
// that drops zeros), "--expr a + b" the naive one (reduceByKeyAndWindow(_ + _,
// ...)); both give Spark's naive outputs. Spark stops after its expected
// outputs; the drain adds the windows that still hold values.
func TestReduceByKeyAndWindowAsSpark(t *testing.T) {
	larger := windowInput(1000, "a=1", "a=2", "a=3", "a=4", "a=5", "a=6", "", "")
	big := windowInput(1000, "a=1", "a=1 b=1", "a=1 b=1 c=1", "a=1 b=1", "a=1", "",
		"a=1", "a=1 b=1", "a=1 b=1 c=1", "a=1 b=1", "a=1", "")
	tests := []struct {
		name, arg string
		in        []*frame.Batch
		want      string
	}{
		{"basic reduction", "2s/1s", windowInput(1000, "a=1 a=3"), outLines("1000/1000: a=4", "2000/1000: a=4")},
		{"key already in window and new value added into window", "2s/1s", windowInput(1000, "a=1", "a=1"),
			outLines("1000/1000: a=1", "2000/1000: a=2", "3000/1000: a=1")},
		{"new key added into window", "2s/1s", windowInput(1000, "a=1", "a=1 b=1"),
			outLines("1000/1000: a=1", "2000/1000: a=2 b=1", "3000/1000: a=1 b=1")},
		{"key removed from window", "2s/1s", windowInput(1000, "a=1", "a=1", "", ""),
			outLines("1000/1000: a=1", "2000/1000: a=2", "3000/1000: a=1", "4000/1000:")},
		{"larger slide time", "4s/2s", larger, outLines("2000/2000: a=3", "4000/2000: a=10", "6000/2000: a=18", "8000/2000: a=11")},
		{"big test", "2s/1s", big, outLines(
			"1000/1000: a=1", "2000/1000: a=2 b=1", "3000/1000: a=2 b=2 c=1", "4000/1000: a=2 b=2 c=1",
			"5000/1000: a=2 b=1", "6000/1000: a=1", "7000/1000: a=1", "8000/1000: a=2 b=1",
			"9000/1000: a=2 b=2 c=1", "10000/1000: a=2 b=2 c=1", "11000/1000: a=2 b=1", "12000/1000: a=1")},
	}
	for _, tt := range tests {
		for _, args := range [][]string{{tt.arg, "sum"}, {"--expr", "a + b", tt.arg}} {
			if got := runWindowed(t, ReduceByKeyAndWindow, args, tt.in); got != tt.want {
				t.Errorf("%s %v:\n got %s\nwant %s", tt.name, args, got, tt.want)
			}
			checkRestart(t, ReduceByKeyAndWindow, args, tt.in)
		}
	}
}

func TestReduceByKeyAndWindowFunctions(t *testing.T) {
	text := windowInput(1000, "a=1.5 b=x a=2", "b=y c=-3", "a=0.25 c=10", "")
	num := windowInput(1000, "a=1.5 a=2", "c=-3 b=0", "a=0.25 c=10", "")
	tests := []struct {
		args []string
		in   []*frame.Batch
		want string
	}{
		{[]string{"2s/1s", "sum"}, num, outLines("1000/1000: a=3.5", "2000/1000: a=3.5 c=-3 b=0", "3000/1000: c=7 b=0 a=0.25", "4000/1000: c=10 a=0.25")},
		{[]string{"2s/1s", "min"}, num, outLines("1000/1000: a=1.5", "2000/1000: a=1.5 c=-3 b=0", "3000/1000: c=-3 b=0 a=0.25", "4000/1000: c=10 a=0.25")},
		{[]string{"2s/1s", "max"}, num, outLines("1000/1000: a=2", "2000/1000: a=2 c=-3 b=0", "3000/1000: c=10 b=0 a=0.25", "4000/1000: c=10 a=0.25")},
		{[]string{"2s/1s", "count"}, text, outLines("1000/1000: a=2 b=1", "2000/1000: a=2 b=2 c=1", "3000/1000: b=1 c=2 a=1", "4000/1000: c=1 a=1")},
		{[]string{"--sep", ";", "2s/1s", "concat"}, text, outLines("1000/1000: a=1.5;2 b=x", "2000/1000: a=1.5;2 b=x;y c=-3", "3000/1000: b=y c=-3;10 a=0.25", "4000/1000: c=10 a=0.25")},
		{[]string{"2s/1s", "first"}, text, outLines("1000/1000: a=1.5 b=x", "2000/1000: a=1.5 b=x c=-3", "3000/1000: b=y c=-3 a=0.25", "4000/1000: c=10 a=0.25")},
		{[]string{"2s/1s", "last"}, text, outLines("1000/1000: a=2 b=x", "2000/1000: a=2 b=y c=-3", "3000/1000: b=y c=10 a=0.25", "4000/1000: c=10 a=0.25")},
		{[]string{"--expr", "a + b", "2s/1s"}, text, outLines("1000/1000: a=3.5 b=x", "2000/1000: a=3.5 b=xy c=-3", "3000/1000: b=y c=7 a=0.25", "4000/1000: c=10 a=0.25")},
	}
	for _, tt := range tests {
		args := tt.args
		if got := runWindowed(t, ReduceByKeyAndWindow, args, tt.in); got != tt.want {
			t.Errorf("%v:\n got %s\nwant %s", tt.args, got, tt.want)
		}
		checkRestart(t, ReduceByKeyAndWindow, args, windowChunks(tt.in, 1))
	}
}

// Keys come in order of entry into the window's table: a key that stays
// keeps its place; one that leaves and comes back goes to the end.
func TestReduceByKeyAndWindowKeyOrder(t *testing.T) {
	in := windowInput(1000, "a=1 b=1", "c=1 b=1", "a=1 d=1", "b=1")
	want := outLines("1000/1000: a=1 b=1", "2000/1000: a=1 b=2 c=1", "3000/1000: b=1 c=1 a=1 d=1",
		"4000/1000: a=1 d=1 b=1", "5000/1000: b=1")
	for _, args := range [][]string{{"2s/1s", "sum"}, {"2s/1s", "count"}, {"--expr", "a + b", "2s/1s"}} {
		fn := args
		if got := runWindowed(t, ReduceByKeyAndWindow, args, in); got != want {
			t.Errorf("%v:\n got %s\nwant %s", fn, got, want)
		}
	}
}

func TestReduceByKeyAndWindowErrors(t *testing.T) {
	tests := []struct {
		args []string
		in   []*frame.Batch
		want string
	}{
		{[]string{"2s/1s", "sum"}, windowInput(1000, "a=1", "a=1 b=x"),
			"1000/1000: a=1\nerror: batch 2000: record 1 (key \"b\"): \"x\" is not a decimal number (sum wants numbers like 12, -3.25 or 1e3)"},
		{[]string{"2s/1s", "count"}, windowInput(1000, "a=1 plain"),
			"error: batch 1000: record 1 has no key (reducebykeyandwindow wants keyed records; use keyby first)"},
		{[]string{"--expr", "a + b", "2s/1s"}, windowInput(1000, "a=1", "a=x"),
			"1000/1000: a=1\nerror: window 2000: key \"a\": --expr a + b: invalid operation: int + string (at column 3)"},
	}
	for _, tt := range tests {
		if got := runWindowed(t, ReduceByKeyAndWindow, tt.args, tt.in); got != tt.want {
			t.Errorf("%v:\n got %s\nwant %s", tt.args, got, tt.want)
		}
	}
}

func TestReduceByKeyAndWindowPartitions(t *testing.T) {
	in := windowInput(1000, "a=1 b=2 c=3 d=4", "a=1")
	got := runWindowed(t, ReduceByKeyAndWindow, []string{"--partitions", "2", "2s/1s", "sum"}, in)
	// FNV-1a: a and c to partition 0, b and d to 1, in order of entry.
	want := outLines("1000/1000: a=1 c=3 | b=2 d=4", "2000/1000: a=2 c=3 | b=2 d=4", "3000/1000: a=1 |")
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// A random check against a model that reduces every window from scratch:
// the same keys with the same results, whatever the function, window,
// chunking and partitioning, and the same after every cut and restore.
func TestReduceByKeyAndWindowAgainstModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 2))
	for round := range 40 {
		nb := 1 + rng.IntN(12)
		var in []*frame.Batch
		for i := range nb {
			parts := make([][]string, 1+rng.IntN(3))
			for range rng.IntN(8) {
				p := rng.IntN(len(parts))
				parts[p] = append(parts[p], fmt.Sprintf("k%d\t%d.%d", rng.IntN(6), rng.IntN(20)-5, rng.IntN(10)))
			}
			in = append(in, batch(int64(i+1)*1000, parts...))
		}
		w := int64(1+rng.IntN(4)) * 1000
		s := int64(1+rng.IntN(3)) * 1000
		arg := fmtMS(w) + "/" + fmtMS(s)
		fns := []string{"sum", "count", "min", "max", "concat", "first", "last"}
		fn := fns[round%len(fns)]
		args := []string{arg, fn}
		feed := in
		if round%2 == 1 {
			feed = windowChunks(in, 1+rng.IntN(2))
		}
		got := outputMap(runStateful(t, newStage(t, ReduceByKeyAndWindow, nil, args...), feed, true))
		want := modelReduceByKeyAndWindow(t, feed, w, s, fn)
		if got != want {
			t.Fatalf("round %d: %v over %d batches:\n got %s\nwant %s\ninput %s", round, args, nb, got, want, renderWindows(in))
		}
		checkRestart(t, ReduceByKeyAndWindow, args, feed)
	}
}

// outputMap renders outputs as "T: k=v ..." with keys sorted, so that
// order does not count.
func outputMap(bs []*frame.Batch) string {
	var b strings.Builder
	for _, bt := range bs {
		var kv []string
		for _, p := range bt.Partitions {
			for _, r := range p.Records {
				kv = append(kv, string(r.Key)+"="+string(r.Value))
			}
		}
		slices.Sort(kv)
		fmt.Fprintf(&b, "%d/%d: %s\n", bt.Time, bt.Interval, strings.Join(kv, " "))
	}
	return b.String()
}

// modelReduceByKeyAndWindow reduces each window's records from scratch,
// with reducebykey; a batch's records are in chunk order, then partition
// order (package frame).
func modelReduceByKeyAndWindow(t *testing.T, in []*frame.Batch, w, s int64, fn string) string {
	last := in[len(in)-1].Time
	var out []*frame.Batch
	for T := nextMultiple(in[0].Time, s); ; T += s {
		win := &frame.Batch{Time: T, Interval: s, Partitions: []frame.Partition{{}}}
		for _, b := range in {
			if b.Time > T-w && b.Time <= T {
				for _, p := range b.Partitions {
					win.Partitions[0].Records = append(win.Partitions[0].Records, p.Records...)
				}
			}
		}
		if T > last && len(win.Partitions[0].Records) == 0 {
			break
		}
		var res collect
		if err := newStage(t, ReduceByKey, nil, fn).(stage.Operator).Process(context.Background(), win, &res); err != nil {
			t.Fatal(err)
		}
		res[0].Interval = s
		out = append(out, res...)
	}
	return outputMap(out)
}

// The numbers of issue 4: reducebykeyandwindow 60s/1s over 100k records
// per 1 s batch and 100k keys, against a plain reducebykey of one batch.
const (
	benchKeys    = 100_000
	benchRecords = 100_000
	benchWindow  = 60
)

// benchBatches makes n batches of benchRecords records with keys drawn
// from benchKeys and amounts like 123.45, reusing one buffer.
type benchSource struct {
	rng  *rand.Rand
	data []byte
	b    frame.Batch
}

func newBenchSource() *benchSource {
	s := &benchSource{rng: rand.New(rand.NewPCG(1, 2))}
	s.b.Partitions = []frame.Partition{{Records: make([]frame.Record, benchRecords)}}
	return s
}

func (s *benchSource) next(t int64) *frame.Batch {
	s.data = s.data[:0]
	recs := s.b.Partitions[0].Records
	type span struct{ ks, vs, end int }
	spans := make([]span, len(recs))
	for i := range recs {
		ks := len(s.data)
		s.data = append(s.data, "account-"...)
		s.data = strconv.AppendInt(s.data, int64(s.rng.IntN(benchKeys)), 10)
		vs := len(s.data)
		s.data = strconv.AppendInt(s.data, int64(s.rng.IntN(1000)), 10)
		s.data = append(s.data, '.')
		s.data = strconv.AppendInt(s.data, int64(10+s.rng.IntN(90)), 10)
		spans[i] = span{ks, vs, len(s.data)}
	}
	for i, sp := range spans {
		recs[i] = frame.Record{Key: s.data[sp.ks:sp.vs], Value: s.data[sp.vs:sp.end], Keyed: true}
	}
	s.b.Time, s.b.Interval = t, 1000
	return &s.b
}

func BenchmarkReduceByKeyOneBatch(b *testing.B) {
	src := newBenchSource()
	batches := make([]*frame.Batch, 4)
	for i := range batches {
		batches[i] = src.next(int64(i+1) * 1000).Clone()
	}
	st := newStage(b, ReduceByKey, nil, "sum").(stage.Operator)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if err := st.Process(ctx, batches[i%len(batches)], discard{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReduceByKeyAndWindowSlide(b *testing.B) { benchSlide(b, "sum") }

// BenchmarkReduceByKeyAndWindowSlideMax is the merging path, for scale:
// each slide merges the partials of all the window's batches.
func BenchmarkReduceByKeyAndWindowSlideMax(b *testing.B) { benchSlide(b, "max") }

// benchSlide measures one slide (one batch in, one window out) of a full
// 60s/1s window, and the heap the window's state takes against its raw size.
func benchSlide(b *testing.B, fn string) {
	src := newBenchSource()
	ring := make([]*frame.Batch, 4)
	for i := range ring {
		ring[i] = src.next(0).Clone()
	}
	ctx := context.Background()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	st := newStage(b, ReduceByKeyAndWindow, nil, fmt.Sprintf("%ds/1s", benchWindow), fn).(stage.Operator)
	t := int64(0)
	feed := func() {
		t += 1000
		bt := ring[(t/1000)%int64(len(ring))]
		bt.Time = t
		if err := st.Process(ctx, bt, discard{}); err != nil {
			b.Fatal(err)
		}
	}
	for range benchWindow {
		feed()
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	heap := float64(after.HeapAlloc - before.HeapAlloc)
	raw := float64(st.(*windower).c.(*keyedWindow).rawSize())
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		feed()
	}
	b.StopTimer()
	// After ResetTimer, which deletes reported metrics.
	b.ReportMetric(heap, "heap-bytes")
	b.ReportMetric(raw, "raw-bytes")
	b.ReportMetric(heap/raw, "heap/raw")
}

// A full window slides without allocating: keys known, columns reused.
func TestReduceByKeyAndWindowSteadyNoAlloc(t *testing.T) {
	for _, fn := range []string{"sum", "count", "max", "last"} {
		st := newStage(t, ReduceByKeyAndWindow, nil, "5s/1s", fn).(stage.Operator)
		in := batch(0, []string{"a\t1.5", "b\t2", "a\t3", "c\t-1"}, []string{"d\t7", "b\t0.25"})
		tm := int64(0)
		feed := func() {
			tm += 1000
			in.Time = tm
			if err := st.Process(context.Background(), in, discard{}); err != nil {
				t.Fatal(err)
			}
		}
		for range 10 {
			feed()
		}
		if n := testing.AllocsPerRun(20, feed); n != 0 {
			t.Errorf("%s: %v allocations per slide", fn, n)
		}
	}
}

// rawSize is the state's size in its rawest form: each key's bytes and its
// window result (8 bytes), and per partial a 4-byte key number and an
// 8-byte value.
func (k *keyedWindow) rawSize() int {
	n := 0
	for _, i := range k.order {
		n += len(k.names[i]) + 8
	}
	for _, p := range k.batches {
		n += 12 * len(p.keys)
	}
	return n
}

// The checkpoint form of --expr results: what expressions make comes back
// the same, maps in one byte order, and malformed data is an error.
func TestExprValueCodec(t *testing.T) {
	when := time.Date(2024, 2, 29, 12, 0, 0, 5, time.UTC)
	values := []any{
		nil, true, false, 0, -7, 1 << 62, 2.5, math.Inf(1), "", "héllo\x00",
		[]any{1, "a", []any{}, map[string]any{}},
		map[string]any{"b": 2, "a": []any{nil, 1.5}},
		expr.Pair{Key: "k", Value: []any{1}}, when, 90 * time.Second,
	}
	for _, v := range values {
		b, err := appendExprValue(nil, v)
		if err != nil {
			t.Fatalf("%#v: %v", v, err)
		}
		got, rest, err := readExprValue(b)
		if err != nil || len(rest) != 0 || !reflect.DeepEqual(got, v) {
			t.Errorf("%#v came back as %#v (rest %d bytes, %v)", v, got, len(rest), err)
		}
		for i := range len(b) {
			if _, _, err := readExprValue(b[:i]); err == nil {
				t.Errorf("%#v: the first %d of %d bytes read without error", v, i, len(b))
			}
		}
	}
	// Other Go types come back as expressions see them.
	conv := []struct{ in, want any }{
		{int64(5), 5}, {uint8(3), 3}, {float32(0.5), 0.5}, {[]int{1, 2}, []any{1, 2}},
		{map[int]string{2: "b", 1: "a"}, map[string]any{"1": "a", "2": "b"}},
	}
	for _, c := range conv {
		b, err := appendExprValue(nil, c.in)
		if err != nil {
			t.Fatal(err)
		}
		if got, _, _ := readExprValue(b); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%#v came back as %#v, want %#v", c.in, got, c.want)
		}
	}
	m := map[string]any{}
	for i := range 50 {
		m[strconv.Itoa(i)] = i
	}
	first, _ := appendExprValue(nil, m)
	for range 5 {
		if again, _ := appendExprValue(nil, m); !bytes.Equal(first, again) {
			t.Fatal("a map encodes to different bytes")
		}
	}
	if _, err := appendExprValue(nil, make(chan int)); err == nil {
		t.Error("a channel encoded")
	}
	// Hostile input: huge counts and deep nesting are errors, not
	// allocations or a stack overflow.
	for _, b := range [][]byte{
		{evList, 0xff, 0xff, 0xff, 0xff, 0x0f}, {evMap, 0xff, 0xff, 0x03, 0}, {evString, 0x80, 0x80, 0x80, 0x80, 0x10},
		bytes.Repeat([]byte{evList, 1}, 5000), {99},
	} {
		if _, _, err := readExprValue(b); err == nil {
			t.Errorf("% x read without error", b[:min(len(b), 8)])
		}
	}
}

// A damaged snapshot is an error, or a state the stage runs on without
// panicking: never a crash.
func TestKeyedWindowRestoreDamaged(t *testing.T) {
	in := windowInput(1000, "a=1 b=2", "a=3 c=x", "b=4")
	rest := windowInput(1000, "", "", "", "a=5")[3:]
	for _, args := range [][]string{{"3s/1s", "count"}, {"3s/1s", "concat"}, {"--expr", "a + b", "3s/2s"}} {
		st := newStage(t, ReduceByKeyAndWindow, nil, args...)
		runStateful(t, st, in, false)
		var snap bytes.Buffer
		if err := st.(stage.Snapshotter).Snapshot(&snap); err != nil {
			t.Fatal(err)
		}
		for i := range snap.Len() {
			for _, flip := range []byte{0x01, 0x80, 0xff} {
				b := bytes.Clone(snap.Bytes())
				b[i] ^= flip
				fresh := newStage(t, ReduceByKeyAndWindow, nil, args...)
				if fresh.(stage.Snapshotter).Restore(bytes.NewReader(b)) != nil {
					continue
				}
				var out collect
				for _, bt := range rest {
					fresh.(stage.Operator).Process(context.Background(), bt, &out)
				}
				fresh.(stage.Finisher).Finish(context.Background(), &out)
			}
		}
	}
}
