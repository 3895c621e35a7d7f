package ops

import "testing"

// Spark's WindowOperationsSuite "countByWindow" and PySpark's
// test_count_by_window and test_count_by_window_large.
func TestCountByWindowAsSpark(t *testing.T) {
	spark := windowInput(1000, "1", "1", "1 2", "0", "", "")
	want := outLines("1000/1000: 1", "2000/1000: 2", "3000/1000: 3", "4000/1000: 3", "5000/1000: 1", "6000/1000: 0")
	if got := runWindowed(t, CountByWindow, []string{"2s/1s"}, spark); got != want {
		t.Errorf("countByWindow:\n got %s\nwant %s", got, want)
	}
	ranges := windowInput(500, "0", "0 1", "0 1 2", "0 1 2 3", "0 1 2 3 4", "0 1 2 3 4 5")
	want = outLines("500/500: 1", "1000/500: 3", "1500/500: 6", "2000/500: 9", "2500/500: 12", "3000/500: 9", "3500/500: 5")
	if got := runWindowed(t, CountByWindow, []string{"1500ms/500ms"}, ranges[:5]); got != want {
		t.Errorf("test_count_by_window:\n got %s\nwant %s", got, want)
	}
	want = outLines("500/500: 1", "1000/500: 3", "1500/500: 6", "2000/500: 10", "2500/500: 15", "3000/500: 20",
		"3500/500: 18", "4000/500: 15", "4500/500: 11", "5000/500: 6")
	if got := runWindowed(t, CountByWindow, []string{"2500ms/500ms"}, ranges); got != want {
		t.Errorf("test_count_by_window_large:\n got %s\nwant %s", got, want)
	}
}

func TestCountByWindowRestart(t *testing.T) {
	in := windowInput(1000, "a b", "", "c", "d e f", "", "", "g")
	for _, arg := range []string{"3s/2s", "2s/3s", "5s", "2s/2s"} {
		checkRestart(t, CountByWindow, []string{arg}, windowChunks(in, 2))
	}
	// An empty window counts 0; a window that starts partial counts what
	// it has; the drain stops at the first window without records.
	want := outLines("2000/2000: 2", "4000/2000: 6", "6000/2000: 4", "8000/2000: 1", "10000/2000: 1")
	if got := runWindowed(t, CountByWindow, []string{"4s/2s"}, in); got != want {
		t.Errorf("4s/2s:\n got %s\nwant %s", got, want)
	}
}
