package ops

import (
	"bytes"
	"context"
	"dstream/lib/checkpoint"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"dstream/lib/frame"
	"dstream/lib/stage"
)

// stateInput is a representative input for the stateful stages: keys
// in two partitions, a batch in chunks, empty batches, keys that come
// back after a pause.
func stateInput() []*frame.Batch {
	return []*frame.Batch{
		batch(1000, []string{"a\t1", "b\t2.5"}, []string{"c\t3", "a\t4"}),
		more(batch(2000, []string{"a\t10"}, []string{"d\t-1"})), more(batch(2000, nil, []string{"b\t0.5"})), batch(2000, []string{"d\t7"}, nil),
		batch(3000, nil, nil),
		batch(4000, []string{"c\t1", "e\t2"}, nil),
		batch(5000),
		more(batch(6000, []string{"a\t1"})), batch(6000, []string{"f\t9"}),
		batch(7000, []string{"b\t1"}),
	}
}

// writeTemp writes a file in a test directory and returns its path.
func writeTemp(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestUpdateStateByKey(t *testing.T) {
	seed := writeTemp(t, "seed.tsv", "z\t100\r\nb\t1") // CRLF, no last newline
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"sum"}, "1000: a=5 b=2.5 c=3\n2000: a=15 b=3 c=3 d=6\n3000: a=15 b=3 c=3 d=6\n4000: a=15 b=3 c=4 d=6 e=2\n5000: a=15 b=3 c=4 d=6 e=2\n6000: a=16 b=3 c=4 d=6 e=2 f=9\n7000: a=16 b=4 c=4 d=6 e=2 f=9"},
		{[]string{"count"}, "1000: a=2 b=1 c=1\n2000: a=3 b=2 c=1 d=2\n3000: a=3 b=2 c=1 d=2\n4000: a=3 b=2 c=2 d=2 e=1\n5000: a=3 b=2 c=2 d=2 e=1\n6000: a=4 b=2 c=2 d=2 e=1 f=1\n7000: a=4 b=3 c=2 d=2 e=1 f=1"},
		{[]string{"last"}, "1000: a=4 b=2.5 c=3\n2000: a=10 b=0.5 c=3 d=7\n3000: a=10 b=0.5 c=3 d=7\n4000: a=10 b=0.5 c=1 d=7 e=2\n5000: a=10 b=0.5 c=1 d=7 e=2\n6000: a=1 b=0.5 c=1 d=7 e=2 f=9\n7000: a=1 b=1 c=1 d=7 e=2 f=9"},
		{[]string{"max"}, "1000: a=4 b=2.5 c=3\n2000: a=10 b=2.5 c=3 d=7\n3000: a=10 b=2.5 c=3 d=7\n4000: a=10 b=2.5 c=3 d=7 e=2\n5000: a=10 b=2.5 c=3 d=7 e=2\n6000: a=10 b=2.5 c=3 d=7 e=2 f=9\n7000: a=10 b=2.5 c=3 d=7 e=2 f=9"},
		{[]string{"min"}, "1000: a=1 b=2.5 c=3\n2000: a=1 b=0.5 c=3 d=-1\n3000: a=1 b=0.5 c=3 d=-1\n4000: a=1 b=0.5 c=1 d=-1 e=2\n5000: a=1 b=0.5 c=1 d=-1 e=2\n6000: a=1 b=0.5 c=1 d=-1 e=2 f=9\n7000: a=1 b=0.5 c=1 d=-1 e=2 f=9"},
		// --initial keys come first, in file order.
		{[]string{"--initial", seed, "sum"}, "1000: z=100 b=3.5 a=5 c=3\n2000: z=100 b=4 a=15 c=3 d=6\n3000: z=100 b=4 a=15 c=3 d=6\n4000: z=100 b=4 a=15 c=4 d=6 e=2\n5000: z=100 b=4 a=15 c=4 d=6 e=2\n6000: z=100 b=4 a=16 c=4 d=6 e=2 f=9\n7000: z=100 b=5 a=16 c=4 d=6 e=2 f=9"},
		// The expression sees numbers; a key with no values is removed, and
		// comes back at the end.
		{[]string{"--expr", "len(values) == 0 ? nil : sum(values) + (state ?? 0)"}, "1000: a=5 b=2.5 c=3\n2000: a=15 b=3 d=6\n3000: \n4000: c=1 e=2\n5000: \n6000: a=1 f=9\n7000: b=1"},
		// A list state stays a list; the time is the batch's.
		{[]string{"--expr", "concat(state ?? [], values)"}, "1000: a=[1,4] b=[2.5] c=[3]\n2000: a=[1,4,10] b=[2.5,0.5] c=[3] d=[-1,7]\n3000: a=[1,4,10] b=[2.5,0.5] c=[3] d=[-1,7]\n4000: a=[1,4,10] b=[2.5,0.5] c=[3,1] d=[-1,7] e=[2]\n5000: a=[1,4,10] b=[2.5,0.5] c=[3,1] d=[-1,7] e=[2]\n6000: a=[1,4,10,1] b=[2.5,0.5] c=[3,1] d=[-1,7] e=[2] f=[9]\n7000: a=[1,4,10,1] b=[2.5,0.5,1] c=[3,1] d=[-1,7] e=[2] f=[9]"},
		{[]string{"--expr", "len(values) > 0 ? time : state"}, "1000: a=1000 b=1000 c=1000\n2000: a=2000 b=2000 c=1000 d=2000\n3000: a=2000 b=2000 c=1000 d=2000\n4000: a=2000 b=2000 c=4000 d=2000 e=4000\n5000: a=2000 b=2000 c=4000 d=2000 e=4000\n6000: a=6000 b=2000 c=4000 d=2000 e=4000 f=6000\n7000: a=6000 b=7000 c=4000 d=2000 e=4000 f=6000"},
		{[]string{"--partitions", "2", "count"}, "1000: a=2 c=1|b=1\n2000: a=3 c=1|b=2 d=2\n3000: a=3 c=1|b=2 d=2\n4000: a=3 c=2 e=1|b=2 d=2\n5000: a=3 c=2 e=1|b=2 d=2\n6000: a=4 c=2 e=1|b=2 d=2 f=1\n7000: a=4 c=2 e=1|b=3 d=2 f=1"},
	}
	for _, tt := range tests {
		got, err := run(t, UpdateStateByKey, tt.args, stateInput()...)
		if err != nil {
			t.Fatalf("%v: %v", tt.args, err)
		}
		if got != tt.want {
			t.Errorf("%v: got\n%s\nwant\n%s", tt.args, got, tt.want)
		}
	}
}

// TestUpdateStateByKeyRestart: a stage cut after any batch and restored
// from its snapshot goes on as if it had never stopped.
func TestUpdateStateByKeyRestart(t *testing.T) {
	seed := writeTemp(t, "seed.tsv", "z\t[1]\nb\t[]\n")
	numSeed := writeTemp(t, "num.tsv", "z\t1.50\nb\t-2\n")
	for _, args := range [][]string{
		{"sum"}, {"count"}, {"last"}, {"min"}, {"--partitions", "3", "max"},
		{"--initial", numSeed, "sum"},
		{"--expr", "len(values) == 0 ? nil : sum(values) + (state ?? 0)"},
		{"--expr", "concat(state ?? [], values)", "--initial", seed},
		{"--expr", "len(values) == 0 ? state : {n: len(values), last: values[-1], t: time, ok: true}"},
		{"--expr", "state == nil ? key + string(values[0]) : state + '.'"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			checkRestart(t, UpdateStateByKey, args, stateInput())
		})
	}
}

// TestUpdateStateByKeyChunkedOutput: a state too big for one frame goes
// out in chunks, in state order.
func TestUpdateStateByKeyChunkedOutput(t *testing.T) {
	var recs []string
	for i := range 40000 {
		recs = append(recs, fmt.Sprintf("key-%05d\t%s", i, strings.Repeat("v", 20)))
	}
	out := runStateful(t, newStage(t, UpdateStateByKey, nil, "last"), []*frame.Batch{batch(1000, recs)}, true)
	if len(out) < 2 {
		t.Fatalf("want several chunks, got %d", len(out))
	}
	n := 0
	for i, b := range out {
		if b.More != (i < len(out)-1) || b.Time != 1000 {
			t.Fatalf("chunk %d: time %d, More %v", i, b.Time, b.More)
		}
		for _, r := range b.Partitions[0].Records {
			if want := fmt.Sprintf("key-%05d", n); string(r.Key) != want {
				t.Fatalf("record %d: key %s, want %s", n, r.Key, want)
			}
			n++
		}
	}
	if n != 40000 {
		t.Fatalf("%d records, want 40000", n)
	}
}

func TestUpdateStateByKeyErrors(t *testing.T) {
	tests := []struct {
		args []string
		in   []*frame.Batch
		want string
	}{
		{[]string{"sum"}, []*frame.Batch{batch(1000, []string{"a\t1"}, []string{"b\tx"})}, `batch 1000: record 1 (key "b"): "x" is not a decimal number (sum wants numbers like 12, -3.25 or 1e3)`},
		{[]string{"count"}, []*frame.Batch{batch(1000, []string{"a\t1", "unkeyed"})}, "batch 1000: record 1 has no key (updatestatebykey wants keyed records; use keyby first)"},
		{[]string{"--expr", "state + values[0]"}, []*frame.Batch{batch(1000, []string{"a\t1"})}, `batch 1000: key "a": --expr state + values[0]: invalid operation: <nil> + int (at column 7)`},
		{[]string{"--expr", "sum(values) / 0.0"}, []*frame.Batch{batch(1000), batch(2000, []string{"k\t1"})}, `batch 2000: key "k": --expr sum(values) / 0.0: the result is +Inf, not a number (a float division by zero?)`},
	}
	for _, tt := range tests {
		_, err := run(t, UpdateStateByKey, tt.args, tt.in...)
		if err == nil || err.Error() != tt.want {
			t.Errorf("%v: got error %v, want %s", tt.args, err, tt.want)
		}
	}
}

func TestUpdateStateByKeyUsage(t *testing.T) {
	dir := t.TempDir()
	file := func(name, s string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(s), 0o600)
		return p
	}
	noTab := file("notab.tsv", "a\t1\nb 2\n")
	dup := file("dup.tsv", "a\t1\nb\t2\na\t3\n")
	nan := file("nan.tsv", "a\t1\nb\tx\n")
	neg := file("neg.tsv", "a\t-1\n")
	tests := []struct {
		args []string
		want string
	}{
		{nil, "want a function (sum, count, last, max, min) or --expr, got neither (see 'updatestatebykey --help')"},
		{[]string{"--expr", "state", "sum"}, "want a function or --expr, not both (see 'updatestatebykey --help')"},
		{[]string{"concat"}, `unknown function "concat" (want one of sum, count, last, max, min)`},
		{[]string{"--expr", "value"}, "--expr: unknown name value (at column 1)"},
		{[]string{"--partitions", "0", "sum"}, "--partitions 0: want a whole number of 1 or more"},
		{[]string{"--initial", filepath.Join(dir, "none.tsv"), "sum"}, "--initial " + filepath.Join(dir, "none.tsv") + ": no such file or directory"},
		{[]string{"--initial", noTab, "last"}, "--initial " + noTab + ": line 2 has no TAB (want KEY<TAB>STATE)"},
		{[]string{"--initial", dup, "last"}, "--initial " + dup + `: line 3: key "a" again (first on line 1)`},
		{[]string{"--initial", nan, "max"}, "--initial " + nan + `: line 2 (key "b"): "x" is not a decimal number (max wants numbers like 12, -3.25 or 1e3)`},
		{[]string{"--initial", neg, "count"}, "--initial " + neg + `: line 1 (key "a"): "-1" is not a count (count keeps whole numbers of 0 or more)`},
	}
	for _, tt := range tests {
		_, err := buildStage(t, UpdateStateByKey, tt.args...)
		if err == nil || err.Error() != tt.want {
			t.Errorf("%v: got %v, want %s", tt.args, err, tt.want)
		}
		if _, ok := err.(*stage.UsageError); err != nil && !ok {
			t.Errorf("%v: %T is not a usage error", tt.args, err)
		}
	}
}

// TestUpdateStateByKeyRestoreRejects: Restore refuses what is not a
// snapshot of its own, without panicking.
func TestUpdateStateByKeyRestoreRejects(t *testing.T) {
	st := newStage(t, UpdateStateByKey, nil, "sum")
	runStateful(t, st, stateInput(), false)
	var good bytes.Buffer
	if err := st.(stage.Snapshotter).Snapshot(&good); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{
		"empty":       nil,
		"version 2":   append([]byte{2}, good.Bytes()[1:]...),
		"more keys":   append([]byte{1, 7}, good.Bytes()[2:]...),
		"garbage":     []byte("not a snapshot at all"),
		"huge count":  append([]byte{1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}, good.Bytes()[2:]...),
		"doubled end": append(bytes.Clone(good.Bytes()), good.Bytes()[2:]...),
	} {
		if err := newStage(t, UpdateStateByKey, nil, "sum").(stage.Snapshotter).Restore(bytes.NewReader(data)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func FuzzUpdateStateByKeyRestore(f *testing.F) {
	st := newStage(&testing.T{}, UpdateStateByKey, nil, "sum")
	var out collect
	for _, b := range stateInput() {
		st.(stage.Operator).Process(context.Background(), b, &out)
	}
	var good bytes.Buffer
	st.(stage.Snapshotter).Snapshot(&good)
	f.Add(good.Bytes())
	f.Add([]byte{1, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		u := newStage(t, UpdateStateByKey, nil, "sum")
		if u.(stage.Snapshotter).Restore(bytes.NewReader(data)) == nil {
			// Whatever was accepted must run.
			runStateful(t, u, []*frame.Batch{batch(9000, []string{"a\t1"})}, true)
		}
	})
}

// stateHeap loads n keys of keyLen-byte keys and 1-byte states into
// updatestatebykey sum, in batches of at most per keys, and returns the
// stage and the heap bytes it holds beyond the key and state bytes, per key.
func stateHeap(tb testing.TB, n, per int) (any, float64) {
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	st := newStage(&testing.T{}, UpdateStateByKey, nil, "sum")
	op := st.(stage.Operator)
	recs := make([]frame.Record, 0, per)
	keys := make([]byte, 0, per*12)
	raw := 0
	for i := 0; i < n; {
		recs, keys = recs[:0], keys[:0]
		for ; i < n && len(recs) < per; i++ {
			start := len(keys)
			keys = fmt.Appendf(keys, "key-%07d", i)
			recs = append(recs, frame.Record{Key: keys[start:], Value: []byte("1"), Keyed: true})
			raw += len(keys) - start + 1
		}
		b := &frame.Batch{Time: int64(i), Interval: 1, Partitions: []frame.Partition{{Records: recs}}}
		if err := op.Process(context.Background(), b, discard{}); err != nil {
			tb.Fatal(err)
		}
	}
	recs, keys = nil, nil
	runtime.GC()
	runtime.ReadMemStats(&after)
	return st, (float64(after.HeapAlloc) - float64(before.HeapAlloc) - float64(raw)) / float64(n)
}

// TestUpdateStateByKeyMemory: the state costs less than 120 bytes a key
// beyond its key and state bytes (issue 4). BenchmarkUpdateStateByKey10M
// measures it at 10M keys.
func TestUpdateStateByKeyMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("measures the heap")
	}
	st, perKey := stateHeap(t, 300_000, 100_000)
	t.Logf("%.1f bytes a key beyond key and state", perKey)
	if perKey > 120 {
		t.Errorf("%.1f bytes a key beyond key and state, want < 120", perKey)
	}
	runtime.KeepAlive(st)
}

// BenchmarkUpdateStateByKey10M reports the figures for a state of
// 10M keys (11-byte keys, 1-byte states): snapshot and restore times, and
// the heap per key beyond the key and state bytes, of the stage that built
// the state and of the one restored from its snapshot. Run it alone:
//
//	go test ./lib/ops -run '^$' -bench UpdateStateByKey10M -benchtime 1x -cpu 1
func BenchmarkUpdateStateByKey10M(b *testing.B) {
	const n = 10_000_000
	st, perKey := stateHeap(b, n, 1_000_000)
	raw := float64(n * len("key-0000000=1"))
	b.ResetTimer()
	var snapTime, restoreTime time.Duration
	var restoredPerKey float64
	var size int
	for range b.N {
		var buf bytes.Buffer
		start := time.Now()
		if err := st.(stage.Snapshotter).Snapshot(&buf); err != nil {
			b.Fatal(err)
		}
		// What the runtime writes: the state in its envelope (zstd, CRC).
		file := checkpoint.EncodeSnapshot(checkpoint.Meta{ID: 1, Stage: "updatestatebykey", Config: "sum"}, buf.Bytes())
		snapTime += time.Since(start)
		size = len(file)
		buf.Reset()
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		fresh := newStage(&testing.T{}, UpdateStateByKey, nil, "sum")
		start = time.Now()
		_, state, err := checkpoint.DecodeSnapshot(file)
		if err != nil {
			b.Fatal(err)
		}
		if err := fresh.(stage.Snapshotter).Restore(bytes.NewReader(state)); err != nil {
			b.Fatal(err)
		}
		restoreTime += time.Since(start)
		file, state = nil, nil // not counted in the restored heap
		runtime.GC()
		runtime.ReadMemStats(&after)
		restoredPerKey = (float64(after.HeapAlloc) - float64(before.HeapAlloc) - float64(raw)) / n
		if live := fresh.(*updateStateByKey).tbl.live; live != n {
			b.Fatalf("restored %d keys", live)
		}
	}
	b.ReportMetric(snapTime.Seconds()/float64(b.N), "snapshot-s")
	b.ReportMetric(restoreTime.Seconds()/float64(b.N), "restore-s")
	b.ReportMetric(perKey, "heap-B/key")
	b.ReportMetric(restoredPerKey, "restored-heap-B/key")
	b.ReportMetric(float64(size)/n, "file-B/key")
	runtime.KeepAlive(st)
}

// TestStateStagesNoAlloc: once the keys are known, a batch costs no
// allocation per record (the named functions; expressions allocate).
func TestStateStagesNoAlloc(t *testing.T) {
	var recs []string
	for i := range 1000 {
		recs = append(recs, fmt.Sprintf("k%d\t%d.%02d", i%100, i, i%100))
	}
	in := batch(1000, recs)
	for _, spec := range []*stage.Spec{UpdateStateByKey, MapWithState} {
		for _, args := range [][]string{{"sum"}, {"count"}, {"max"}, {"last"}, {"--timeout", "5s", "sum"}} {
			if spec == UpdateStateByKey && len(args) > 1 {
				continue
			}
			op := newStage(t, spec, nil, args...).(stage.Operator)
			op.Process(context.Background(), in, discard{})
			n := testing.AllocsPerRun(10, func() {
				in.Time += 1000
				if err := op.Process(context.Background(), in, discard{}); err != nil {
					t.Fatal(err)
				}
			})
			if n > 10 {
				t.Errorf("%s %v: %.0f allocations for a batch of 1000 records", spec.Name, args, n)
			}
		}
	}
}

// stateBatches makes batches of per records over keys distinct keys,
// spread by a fixed pseudo-random walk.
func stateBatches(n, per, keys int) []*frame.Batch {
	var bs []*frame.Batch
	x := uint32(1)
	for i := range n {
		recs := make([]frame.Record, per)
		for j := range recs {
			x = x*1664525 + 1013904223
			recs[j] = frame.Record{Key: fmt.Appendf(nil, "key-%07d", int(x>>8)%keys), Value: []byte("12.5"), Keyed: true}
		}
		bs = append(bs, &frame.Batch{Time: int64(1000 * (i + 1)), Interval: 1000, Partitions: []frame.Partition{{Records: recs}}})
	}
	return bs
}

// BenchmarkStateStages: records a second through updatestatebykey sum
// (which outputs every key each batch) and mapwithstate sum, 100k records
// a batch over 100k keys.
//
//	go test ./lib/ops -run '^$' -bench StateStages -benchtime 20x -cpu 1
func BenchmarkStateStages(b *testing.B) {
	in := stateBatches(10, 100_000, 100_000)
	for _, spec := range []*stage.Spec{UpdateStateByKey, MapWithState} {
		b.Run(spec.Name, func(b *testing.B) {
			op := newStage(&testing.T{}, spec, nil, "sum").(stage.Operator)
			for _, bt := range in {
				op.Process(context.Background(), bt, discard{})
			}
			b.ResetTimer()
			for i := range b.N {
				bt := in[i%len(in)]
				bt.Time += 10_000
				if err := op.Process(context.Background(), bt, discard{}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*100_000)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

// TestStateChurn: keys that leave and come back in thousands, so that the
// state table compacts between batches, keep the documented order and
// their states, through restarts too.
func TestStateChurn(t *testing.T) {
	var in []*frame.Batch
	var want []string
	for i := range 8 {
		var recs, out []string
		for j := range 3000 {
			k := (j*7 + i*1000) % 5000 // each batch: 3000 of 5000 keys, shifted
			recs = append(recs, fmt.Sprintf("k%d\t%d", k, i))
			out = append(out, fmt.Sprintf("k%d=%d", k, i))
		}
		in = append(in, batch(int64(1000*(i+1)), recs))
		want = append(want, fmt.Sprintf("%d: %s", 1000*(i+1), strings.Join(out, " ")))
	}
	// Only the keys of the batch stay, in their batch's order when they
	// are new or came back; a key in two batches in a row keeps its place.
	args := []string{"--expr", "len(values) == 0 ? nil : values[0]"}
	got, err := run(t, UpdateStateByKey, args, in...)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(got, "\n")
	for i, l := range lines {
		if sortedFields(l) != sortedFields(want[i]) {
			t.Fatalf("batch %d: wrong keys or states", i)
		}
	}
	checkRestart(t, UpdateStateByKey, args, in)
	checkRestart(t, MapWithState, []string{"--timeout", "1s", "--snapshots", "last"}, in)
}

func sortedFields(s string) string {
	f := strings.Fields(s)
	slices.Sort(f)
	return strings.Join(f, " ")
}
