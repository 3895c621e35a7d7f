package ops

import (
	"testing"

	"dstream/lib/frame"
)

func TestFilter(t *testing.T) {
	runExprCases(t, Filter, []exprCase{
		{"keeps true, in order, keys kept", []string{"int(value) % 2 == 0"},
			[]*frame.Batch{batch(1000, []string{"1", "k\t2"}, []string{"3", "4"})}, "k\t2\n|\n4\n--\n", false},
		{"by key", []string{"key == 'a'"},
			[]*frame.Batch{batch(1000, []string{"a\t1", "b\t2", "3"})}, "a\t1\n--\n", false},
		{"not a bool", []string{"value"}, []*frame.Batch{batch(1000, []string{"yes"})},
			`batch 1000, record 0 ("yes"): value: the result is a string "yes", not a bool (filter keeps the records it gives true)`, true},
		{"nil", []string{"key"}, []*frame.Batch{batch(1000, []string{"v"})},
			`batch 1000, record 0 ("v"): key: the result is nil, not a bool (filter keeps the records it gives true)`, true},
	})
}
