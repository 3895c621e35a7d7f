package ops

import (
	"testing"

	"dstream/lib/frame"
)

// Spark's WindowOperationsSuite window tests: Seq(0) ... Seq(5) at 1 s
// batches. Spark stops after its expected outputs; the drain adds the
// windows that still hold records after the last batch.
func TestWindowAsSpark(t *testing.T) {
	in := windowInput(1000, "0", "1", "2", "3", "4", "5")
	tests := []struct {
		name, arg, want string
	}{
		{"basic window", "2s/1s", outLines("1000/1000: 0", "2000/1000: 0 1", "3000/1000: 1 2", "4000/1000: 2 3", "5000/1000: 3 4", "6000/1000: 4 5",
			"7000/1000: 5")},
		{"tumbling window", "2s/2s", outLines("2000/2000: 0 1", "4000/2000: 2 3", "6000/2000: 4 5")},
		{"larger window", "4s/2s", outLines("2000/2000: 0 1", "4000/2000: 0 1 2 3", "6000/2000: 2 3 4 5", "8000/2000: 4 5")},
		{"non-overlapping window", "2s/3s", outLines("3000/3000: 1 2", "6000/3000: 4 5")},
		{"slide of one batch", "2s", outLines("1000/1000: 0", "2000/1000: 0 1", "3000/1000: 1 2", "4000/1000: 2 3", "5000/1000: 3 4", "6000/1000: 4 5",
			"7000/1000: 5")},
	}
	for _, tt := range tests {
		if got := runWindowed(t, Window, []string{tt.arg}, in); got != tt.want {
			t.Errorf("%s (%s):\n got %s\nwant %s", tt.name, tt.arg, got, tt.want)
		}
	}
}

// Partition p of a window is partition p of each batch in time order; the
// output has as many partitions as the batch with the most.
func TestWindowPartitions(t *testing.T) {
	in := []*frame.Batch{
		batch(1000, []string{"a", "b"}, []string{"k\tc"}),
		batch(2000, []string{"d"}),
		batch(3000, []string{"e"}, []string{"f"}, []string{"g"}),
	}
	want := outLines("1000/1000: a b | k=c", "2000/1000: a b d | k=c", "3000/1000: a b d e | k=c f | g",
		"4000/1000: d e | f | g", "5000/1000: e | f | g")
	if got := runWindowed(t, Window, []string{"3s/1s"}, in); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestWindowRestart(t *testing.T) {
	in := windowInput(1000, "a b", "", "c", "d e f", "", "g", "h i")
	tests := []struct {
		args []string
		in   []*frame.Batch
	}{
		{[]string{"3s/2s"}, in},
		{[]string{"2s/3s"}, in},
		{[]string{"4s/1s"}, windowChunks(in, 2)},
		{[]string{"2s"}, append(windowChunks(in[:3], 1), batch(4000, []string{"x", "y"}, []string{"k\tz"}), batch(5000))},
	}
	for _, tt := range tests {
		got := checkRestart(t, Window, tt.args, tt.in)
		if got == "" {
			t.Errorf("window %v: no output", tt.args)
		}
	}
	// The drain after a restore: cut after the last batch.
	want := outLines("2000/2000: a b", "4000/2000: a b c d e f", "6000/2000: c d e f g", "8000/2000: g h i", "10000/2000: h i")
	if got := renderWindows(runStateful(t, newStage(t, Window, nil, "4s/2s"), in, true)); got != want {
		t.Errorf("4s/2s:\n got %s\nwant %s", got, want)
	}
	checkRestart(t, Window, []string{"4s/2s"}, in)
}
