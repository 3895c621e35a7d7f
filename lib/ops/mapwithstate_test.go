package ops

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"dstream/lib/frame"
	"dstream/lib/stage"
)

func TestMapWithState(t *testing.T) {
	seed := writeTemp(t, "seed.tsv", "z\t100\nb\t1\n")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"running sum per record", []string{"sum"},
			"1000: a=1 b=2.5 c=3 a=5\n2000: a=15 d=-1\n2000: b=3\n2000: d=6\n3000: \n4000: c=4 e=2\n5000: \n6000: a=16\n6000: f=9\n7000: b=4"},
		{"count numbers the records", []string{"count"},
			"1000: a=1 b=1 c=1 a=2\n2000: a=3 d=1\n2000: b=2\n2000: d=2\n3000: \n4000: c=2 e=1\n5000: \n6000: a=4\n6000: f=1\n7000: b=3"},
		{"initial state", []string{"--initial", seed, "sum"},
			"1000: a=1 b=3.5 c=3 a=5\n2000: a=15 d=-1\n2000: b=4\n2000: d=6\n3000: \n4000: c=4 e=2\n5000: \n6000: a=16\n6000: f=9\n7000: b=5"},
		{"emit sees the new and previous state", []string{"--emit", "[prev, state, value]", "max"},
			"1000: a=[null,1,1] b=[null,2.5,2.5] c=[null,3,3] a=[1,4,4]\n2000: a=[4,10,10] d=[null,-1,-1]\n2000: b=[2.5,2.5,0.5]\n2000: d=[-1,7,7]\n3000: \n4000: c=[3,3,1] e=[null,2,2]\n5000: \n6000: a=[10,10,1]\n6000: f=[null,9,9]\n7000: b=[2.5,2.5,1]"},
		// Spark MapWithStateSuite "state removing": a state is set, then
		// removed by the next record of its key, which maps to the key.
		{"remove by nil", []string{"--expr", "state == nil ? value : nil", "--emit", "prev != nil ? key : nil"},
			"1000: a=a\n2000: \n2000: b=b\n2000: d=d\n3000: \n4000: c=c\n5000: \n6000: a=a\n6000: \n7000: "},
		{"pair results make the record", []string{"--expr", "(state ?? 0) + 1", "--emit", "state > 1 ? pair(key + '!', time) : nil"},
			"1000: a!=1000\n2000: a!=2000\n2000: b!=2000\n2000: d!=2000\n3000: \n4000: c!=4000\n5000: \n6000: a!=6000\n6000: \n7000: b!=7000"},
		// Timed out after 2s of batch time without a record: c (last 1000)
		// at 3000, d (2000) at 4000, a and b at 4000, e at 6000; a key
		// times out with its state, and comes back anew.
		{"timeout", []string{"--timeout", "2s", "count"},
			"1000: a=1 b=1 c=1 a=2\n2000: a=3 d=1\n2000: b=2\n2000: d=2\n3000: c=1\n4000: c=1 e=1 a=3 b=2 d=2\n5000: \n6000: a=1\n6000: f=1 c=1 e=1\n7000: b=1"},
		{"timeout emit", []string{"--expr", "value", "--timeout", "3s", "--emit", "timedout ? [prev, state, value] : nil"},
			"1000: \n2000: \n2000: \n2000: \n3000: \n4000: \n5000: a=[10,10,null] b=[0.5,0.5,null] d=[7,7,null]\n6000: \n6000: \n7000: c=[1,1,null] e=[2,2,null]"},
		// --initial keys count as seen at the first batch.
		{"initial keys time out", []string{"--initial", seed, "--timeout", "3s", "last"},
			"1000: a=1 b=2.5 c=3 a=4\n2000: a=10 d=-1\n2000: b=0.5\n2000: d=7\n3000: \n4000: c=1 e=2 z=100\n5000: b=0.5 a=10 d=7\n6000: a=1\n6000: f=9\n7000: b=1 c=1 e=2"},
		{"snapshots", []string{"--snapshots", "sum"},
			"1000: a=5 b=2.5 c=3\n2000: a=15 b=3 c=3 d=6\n3000: a=15 b=3 c=3 d=6\n4000: a=15 b=3 c=4 d=6 e=2\n5000: a=15 b=3 c=4 d=6 e=2\n6000: a=16 b=3 c=4 d=6 e=2 f=9\n7000: a=16 b=4 c=4 d=6 e=2 f=9"},
		{"snapshots after timeouts", []string{"--snapshots", "--timeout", "2s", "--initial", seed, "sum"},
			"1000: z=100 b=3.5 a=5 c=3\n2000: z=100 b=4 a=15 c=3 d=6\n3000: b=4 a=15 d=6\n4000: c=1 e=2\n5000: c=1 e=2\n6000: a=1 f=9\n7000: a=1 f=9 b=1"},
		{"partitions", []string{"--partitions", "2", "count"},
			"1000: a=1 c=1 a=2|b=1\n2000: a=3|d=1\n2000: |b=2\n2000: |d=2\n3000: |\n4000: c=2 e=1|\n5000: |\n6000: a=4|\n6000: |f=1\n7000: |b=3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := run(t, MapWithState, tt.args, stateInput()...)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

// TestMapWithStateRestart: a stage cut after any batch and restored from
// its snapshot goes on as if it had never stopped, timeouts included.
func TestMapWithStateRestart(t *testing.T) {
	seed := writeTemp(t, "seed.tsv", "z\t100\nb\t1\n")
	for _, args := range [][]string{
		{"sum"}, {"--partitions", "3", "count"}, {"--snapshots", "last"},
		{"--initial", seed, "--timeout", "2s", "min"},
		{"--initial", seed, "--timeout", "3s", "--snapshots", "max"},
		{"--expr", "state == nil ? value : nil", "--emit", "prev != nil ? key : nil"},
		{"--expr", "concat(state ?? [], [value])", "--timeout", "2s", "--emit", "timedout ? pair(key, len(state)) : nil"},
		{"--expr", "{v: value, t: time, n: (state ?? {n: 0}).n + 1}", "--snapshots"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			checkRestart(t, MapWithState, args, stateInput())
		})
	}
}

func TestMapWithStateErrors(t *testing.T) {
	tests := []struct {
		args []string
		in   []*frame.Batch
		want string
	}{
		{[]string{"sum"}, []*frame.Batch{batch(1000, []string{"a\t1"}, []string{"b\tx"})}, `batch 1000: record 1 (key "b"): "x" is not a decimal number (sum wants numbers like 12, -3.25 or 1e3)`},
		{[]string{"count"}, []*frame.Batch{batch(1000, []string{"a\t1", "unkeyed"})}, "batch 1000: record 1 has no key (mapwithstate wants keyed records; use keyby first)"},
		{[]string{"--expr", "state + value"}, []*frame.Batch{batch(1000, []string{"a\t1"})}, `batch 1000: record 0 (key "a"): --expr state + value: invalid operation: <nil> + int (at column 7)`},
		{[]string{"--expr", "value / 0.0"}, []*frame.Batch{batch(1000, []string{"a\t1"})}, `batch 1000: record 0 (key "a"): --expr value / 0.0: the result is +Inf, not a number (a float division by zero?)`},
		{[]string{"--emit", "key + state", "count"}, []*frame.Batch{batch(1000, []string{"a\t1"})}, `batch 1000: record 0 (key "a"): --emit key + state: invalid operation: string + int (at column 5)`},
		{[]string{"--emit", "pair(nil, 1)", "count"}, []*frame.Batch{batch(1000, []string{"a\t1"})}, `batch 1000: record 0 (key "a"): --emit pair(nil, 1): the pair's key: the result is nil, which has no text`},
		{[]string{"--timeout", "1s", "--emit", "timedout ? value + 1 : nil", "count"}, []*frame.Batch{batch(1000, []string{"a\t1"}), batch(2000)}, `batch 2000: key "a" (timing out): --emit timedout ? value + 1 : nil: invalid operation: <nil> + int (at column 18)`},
	}
	for _, tt := range tests {
		_, err := run(t, MapWithState, tt.args, tt.in...)
		if err == nil || err.Error() != tt.want {
			t.Errorf("%v: got error %v, want %s", tt.args, err, tt.want)
		}
	}
}

func TestMapWithStateUsage(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		args []string
		want string
	}{
		{nil, "want a function (sum, count, last, max, min) or --expr, got neither (see 'mapwithstate --help')"},
		{[]string{"--expr", "state", "sum"}, "want a function or --expr, not both (see 'mapwithstate --help')"},
		{[]string{"avg"}, `unknown function "avg" (want one of sum, count, last, max, min)`},
		{[]string{"--expr", "prev"}, "--expr: unknown name prev (at column 1)"},
		{[]string{"--expr", "timedout"}, "--expr: unknown name timedout (at column 1)"},
		{[]string{"--emit", "state +", "sum"}, "--emit: unexpected token EOF (at column 7)"},
		{[]string{"--emit", "state", "--snapshots", "sum"}, "--emit and --snapshots exclude each other (--snapshots outputs the state, not mapped values)"},
		{[]string{"--timeout", "0s", "sum"}, "--timeout 0s: want a positive Go duration of whole milliseconds, like 500ms or 2s"},
		{[]string{"--timeout", "1.5ms", "sum"}, "--timeout 1.5ms: want a positive Go duration of whole milliseconds, like 500ms or 2s"},
		{[]string{"--timeout", "soon", "sum"}, "--timeout soon: want a positive Go duration of whole milliseconds, like 500ms or 2s"},
		{[]string{"--initial", filepath.Join(dir, "none"), "sum"}, "--initial " + filepath.Join(dir, "none") + ": no such file or directory"},
	}
	for _, tt := range tests {
		_, err := buildStage(t, MapWithState, tt.args...)
		if err == nil || err.Error() != tt.want {
			t.Errorf("%v: got %v, want %s", tt.args, err, tt.want)
		}
		if _, ok := err.(*stage.UsageError); err != nil && !ok {
			t.Errorf("%v: %T is not a usage error", tt.args, err)
		}
	}
}

// TestMapWithStateRestoreFlags: a snapshot taken with --timeout is not
// restored into a stage without it, and the other way round.
func TestMapWithStateRestoreFlags(t *testing.T) {
	snap := func(args ...string) []byte {
		st := newStage(t, MapWithState, nil, args...)
		runStateful(t, st, stateInput()[:2], false)
		var b bytes.Buffer
		if err := st.(stage.Snapshotter).Snapshot(&b); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	err := newStage(t, MapWithState, nil, "sum").(stage.Snapshotter).Restore(bytes.NewReader(snap("--timeout", "2s", "sum")))
	if want := "the snapshot was taken with --timeout on, this stage has it off: restart with the same flags (or reset the state)"; err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
	if err := newStage(t, MapWithState, nil, "--timeout", "2s", "sum").(stage.Snapshotter).Restore(bytes.NewReader(snap("sum"))); err == nil {
		t.Error("a snapshot without --timeout restored into a stage with it")
	}
}
