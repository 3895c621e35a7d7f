package ops

import (
	"strings"
	"testing"
)

func TestCombineByKey(t *testing.T) {
	in := batchesOf(
		batch(1000, []string{"a\t1", "b\t1", "a\t1"}, []string{"a\t2", "c\t5"}),
		batch(2000),
		// Chunks: partition 1's a comes before partition 0's second a.
		more(batch(3000, []string{"a\t1"}, []string{"a\t10"})), batch(3000, []string{"a\t2"}, nil),
	)
	tests := []struct {
		args []string
		want string
	}{
		// Python's test_combineByKey: str, a + str(b), a + b.
		{[]string{"--create", "value", "--merge-value", "a + value", "--merge-combiners", "a + '|' + b"},
			"1000: a=11|2 b=1 c=5\n2000: \n3000: a=12|10"},
		// Combiners keep their types: a list, then JSON at output.
		{[]string{"--create", "[num(value), 1]", "--merge-value", "[a[0] + num(value), a[1] + 1]", "--merge-combiners", "[a[0] + b[0], a[1] + b[1]]"},
			"1000: a=[4,3] b=[1,1] c=[5,1]\n2000: \n3000: a=[13,3]"},
	}
	for _, tt := range tests {
		got, err := run(t, CombineByKey, tt.args, in...)
		if err != nil || got != tt.want {
			t.Errorf("combinebykey %v:\ngot  %q, %v\nwant %q", tt.args, got, err, tt.want)
		}
	}
	_, err := run(t, CombineByKey, []string{"--create", "int(value)", "--merge-value", "a + int(value)", "--merge-combiners", "a + b"},
		batch(1000, []string{"a\t1", "a\tx"}))
	if err == nil || !strings.HasPrefix(err.Error(), `batch 1000: record 1 (key "a"): --merge-value a + int(value): `) {
		t.Errorf("got %v", err)
	}
}
