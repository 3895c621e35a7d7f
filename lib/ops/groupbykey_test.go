package ops

import (
	"strings"
	"testing"
)

func TestGroupByKey(t *testing.T) {
	in := batchesOf(
		batch(1000, []string{"a\t1", "b\tx", "a\t[2]"}, []string{"\tnull", "a\t3"}),
		batch(2000),
		more(batch(3000, []string{"a\t1"})), batch(3000, []string{"b\t2", "a\t3"}),
	)
	got, err := run(t, GroupByKey, nil, in...)
	want := "1000: a=[1,[2],3] b=[\"x\"] =[null]\n2000: \n3000: a=[1,3] b=[2]"
	if err != nil || got != want {
		t.Errorf("got  %q, %v\nwant %q", got, err, want)
	}
	// FNV-1a mod 2: a 0, b 1, "" 1; mod 3: a, b and "" 1.
	got, _ = run(t, GroupByKey, []string{"--partitions", "2"}, in[0])
	if want := "1000: a=[1,[2],3]|b=[\"x\"] =[null]"; got != want {
		t.Errorf("--partitions 2: got %q, want %q", got, want)
	}
	got, _ = run(t, GroupByKey, []string{"--partitions", "3"}, in[0])
	if want := "1000: |a=[1,[2],3] b=[\"x\"] =[null]|"; got != want {
		t.Errorf("--partitions 3: got %q, want %q", got, want)
	}
	_, err = run(t, GroupByKey, nil, batch(4000, []string{"a\t1"}, []string{"b\t1", "v"}))
	if err == nil || !strings.HasPrefix(err.Error(), "batch 4000: record 2 has no key (groupbykey wants") {
		t.Errorf("unkeyed: got %v", err)
	}
}
