package ops

import "testing"

// Spark's JavaAPISuite testReduceByWindow: [1,2,3], [4,5,6], [7,8,9] with
// reduceByWindow(_ + _, _ - _, 2s, 1s) give 6, 21, 39, 24.
func TestReduceByWindowAsSpark(t *testing.T) {
	in := windowInput(1000, "1 2 3", "4 5 6", "7 8 9")
	want := outLines("1000/1000: 6", "2000/1000: 21", "3000/1000: 39", "4000/1000: 24")
	for _, args := range [][]string{{"2s/1s", "sum"}, {"--expr", "a + b", "2s/1s"}} {
		if got := runWindowed(t, ReduceByWindow, args, in); got != want {
			t.Errorf("%v:\n got %s\nwant %s", args, got, want)
		}
		checkRestart(t, ReduceByWindow, args, windowChunks(in, 2))
	}
}

func TestReduceByWindowFunctions(t *testing.T) {
	in := windowInput(1000, "k=1.5 2", "", "x=-3 10.25", "", "")
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"2s/1s", "sum"}, outLines("1000/1000: 3.5", "2000/1000: 3.5", "3000/1000: 7.25", "4000/1000: 7.25", "5000/1000:")},
		{[]string{"2s/1s", "count"}, outLines("1000/1000: 2", "2000/1000: 2", "3000/1000: 2", "4000/1000: 2", "5000/1000:")},
		{[]string{"3s/1s", "min"}, outLines("1000/1000: 1.5", "2000/1000: 1.5", "3000/1000: -3", "4000/1000: -3", "5000/1000: -3")},
		{[]string{"3s/1s", "max"}, outLines("1000/1000: 2", "2000/1000: 2", "3000/1000: 10.25", "4000/1000: 10.25", "5000/1000: 10.25")},
		{[]string{"--sep", "+", "3s/3s", "concat"}, outLines("3000/3000: 1.5+2+-3+10.25")},
		{[]string{"2s/1s", "first"}, outLines("1000/1000: 1.5", "2000/1000: 1.5", "3000/1000: -3", "4000/1000: -3", "5000/1000:")},
		{[]string{"2s/1s", "last"}, outLines("1000/1000: 2", "2000/1000: 2", "3000/1000: 10.25", "4000/1000: 10.25", "5000/1000:")},
		{[]string{"--expr", "a * b", "4s/2s"}, outLines("2000/2000: 3", "4000/2000: -92.25", "6000/2000: -30.75")},
	}
	for _, tt := range tests {
		if got := runWindowed(t, ReduceByWindow, tt.args, in); got != tt.want {
			t.Errorf("%v:\n got %s\nwant %s", tt.args, got, tt.want)
		}
		checkRestart(t, ReduceByWindow, tt.args, windowChunks(in, 1))
	}
	got := runWindowed(t, ReduceByWindow, []string{"2s/1s", "sum"}, windowInput(1000, "1", "x"))
	if want := "1000/1000: 1\nerror: batch 2000: record 0: \"x\" is not a decimal number (sum wants numbers like 12, -3.25 or 1e3)"; got != want {
		t.Errorf("bad value:\n got %s\nwant %s", got, want)
	}
}
