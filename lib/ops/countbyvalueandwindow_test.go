package ops

import (
	"testing"

	"dstream/lib/frame"
)

// Spark's WindowOperationsSuite "countByValueAndWindow" and PySpark's
// test_count_by_value_and_window.
func TestCountByValueAndWindowAsSpark(t *testing.T) {
	in := windowInput(1000, "a", "b b", "a b")
	want := outLines("1000/1000: a=1", "2000/1000: a=1 b=2", "3000/1000: b=3 a=1", "4000/1000: b=1 a=1")
	if got := runWindowed(t, CountByValueAndWindow, []string{"2s/1s"}, in); got != want {
		t.Errorf("countByValueAndWindow:\n got %s\nwant %s", got, want)
	}
	ranges := windowInput(500, "0", "0 1", "0 1 2", "0 1 2 3", "0 1 2 3 4", "0 1 2 3 4 5")
	want = outLines("500/500: 0=1", "1000/500: 0=2 1=1", "1500/500: 0=3 1=2 2=1", "2000/500: 0=4 1=3 2=2 3=1",
		"2500/500: 0=5 1=4 2=3 3=2 4=1", "3000/500: 0=5 1=5 2=4 3=3 4=2 5=1", "3500/500: 0=4 1=4 2=4 3=3 4=2 5=1",
		"4000/500: 0=3 1=3 2=3 3=3 4=2 5=1", "4500/500: 0=2 1=2 2=2 3=2 4=2 5=1", "5000/500: 0=1 1=1 2=1 3=1 4=1 5=1")
	if got := runWindowed(t, CountByValueAndWindow, []string{"2500ms/500ms"}, ranges); got != want {
		t.Errorf("test_count_by_value_and_window:\n got %s\nwant %s", got, want)
	}
	checkRestart(t, CountByValueAndWindow, []string{"2500ms/500ms"}, windowChunks(ranges, 2))
}

// A keyed record's element is the pair: (a, 1) and (a, 2) are two
// elements, and (a, 1) is not the unkeyed "a<TAB>1", though both print
// as a<TAB>1<TAB>COUNT (as countbyvalue's do).
func TestCountByValueAndWindowPairs(t *testing.T) {
	in := []*frame.Batch{
		batch(1000, []string{"a\t1", "a\t2", "a\t1"}),
		batch(2000, []string{"x", "a\t1"}, []string{"x"}),
	}
	in[1].Partitions[0].Records[0] = frame.Record{Value: []byte("a\t1")}
	want := outLines("1000/1000: a\t1=2 a\t2=1", "2000/1000: a\t1=3 a\t2=1 a\t1=1 x=1", "3000/1000: a\t1=1 a\t1=1 x=1")
	if got := runWindowed(t, CountByValueAndWindow, []string{"2s/1s"}, in); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	checkRestart(t, CountByValueAndWindow, []string{"--partitions", "3", "3s/2s"}, in)
}
