package ops

import (
	"testing"

	"dstream/lib/frame"
)

func TestFlatMapValues(t *testing.T) {
	runExprCases(t, FlatMapValues, []exprCase{
		{"same key", []string{"[int(value), int(value) + 10]"},
			[]*frame.Batch{batch(1000, []string{"a\t2", "b\t1"})}, "a\t2\na\t12\nb\t1\nb\t11\n--\n", false},
		{"pair elements are JSON", []string{"[pair(1, 2)]"},
			[]*frame.Batch{batch(1000, []string{"a\t2"})}, "a\t[1,2]\n--\n", false},
		{"unkeyed", []string{"[value]"}, []*frame.Batch{batch(1000, []string{"b"})},
			"batch 1000, record 0 has no key (flatmapvalues wants keyed records; use keyby first)", true},
		{"not a list", []string{"value"}, []*frame.Batch{batch(1000, []string{"a\tx"})},
			`batch 1000, record 0 ("a\tx"): value: the result is a string "x", not a list (flatmapvalues makes one record of each element)`, true},
	})
}
