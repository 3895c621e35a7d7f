package ops

import "testing"

// Spark's WindowOperationsSuite "groupByKeyAndWindow" (bigInput; Spark
// compares sets, the lists are bigGroupByOutput before .toSet) and
// PySpark's test_group_by_key_and_window.
func TestGroupByKeyAndWindowAsSpark(t *testing.T) {
	big := windowInput(1000, "a=1", "a=1 b=1", "a=1 b=1 c=1", "a=1 b=1", "a=1", "",
		"a=1", "a=1 b=1", "a=1 b=1 c=1", "a=1 b=1", "a=1", "")
	want := outLines("1000/1000: a=[1]", "2000/1000: a=[1,1] b=[1]", "3000/1000: a=[1,1] b=[1,1] c=[1]",
		"4000/1000: a=[1,1] b=[1,1] c=[1]", "5000/1000: a=[1,1] b=[1]", "6000/1000: a=[1]", "7000/1000: a=[1]",
		"8000/1000: a=[1,1] b=[1]", "9000/1000: a=[1,1] b=[1,1] c=[1]", "10000/1000: a=[1,1] b=[1,1] c=[1]",
		"11000/1000: a=[1,1] b=[1]", "12000/1000: a=[1]")
	if got := runWindowed(t, GroupByKeyAndWindow, []string{"2s/1s"}, big); got != want {
		t.Errorf("groupByKeyAndWindow:\n got %s\nwant %s", got, want)
	}
	py := windowInput(500, "a=0", "a=1", "a=2", "a=3", "a=4")
	want = outLines("500/500: a=[0]", "1000/500: a=[0,1]", "1500/500: a=[0,1,2]", "2000/500: a=[1,2,3]",
		"2500/500: a=[2,3,4]", "3000/500: a=[3,4]", "3500/500: a=[4]")
	if got := runWindowed(t, GroupByKeyAndWindow, []string{"1500ms/500ms"}, py); got != want {
		t.Errorf("test_group_by_key_and_window:\n got %s\nwant %s", got, want)
	}
	checkRestart(t, GroupByKeyAndWindow, []string{"1500ms/500ms"}, py)
}

// Values become JSON as in groupbykey; chunks and restarts change nothing.
func TestGroupByKeyAndWindowJSON(t *testing.T) {
	in := windowInput(1000, `k=1 k=x k=[1,2] j={"a":1}`, "", `k="q" k=true j=null`)
	// A JSON string is text like any other (DESIGN.md "Values and text").
	want := outLines(`1000/1000: k=[1,"x",[1,2]] j=[{"a":1}]`, `2000/1000: k=[1,"x",[1,2]] j=[{"a":1}]`,
		`3000/1000: k=["\"q\"",true] j=[null]`, `4000/1000: k=["\"q\"",true] j=[null]`)
	if got := runWindowed(t, GroupByKeyAndWindow, []string{"2s/1s"}, in); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	checkRestart(t, GroupByKeyAndWindow, []string{"--partitions", "2", "3s/1s"}, windowChunks(in, 1))
	got := runWindowed(t, GroupByKeyAndWindow, []string{"2s/1s"}, windowInput(1000, "k=1 plain"))
	if want := "error: batch 1000: record 1 has no key (groupbykeyandwindow wants keyed records; use keyby first)"; got != want {
		t.Errorf("unkeyed:\n got %s\nwant %s", got, want)
	}
}
