package ops

import (
	"testing"

	"dstream/lib/frame"
)

func TestFlatMap(t *testing.T) {
	runExprCases(t, FlatMap, []exprCase{
		{"elements in order", []string{"[int(value), int(value) * 2]"},
			[]*frame.Batch{batch(1000, []string{"1", "2"}, []string{"3"})}, "1\n2\n2\n4\n|\n3\n6\n--\n", false},
		{"split, empty list drops", []string{"split(value, ' ')"},
			[]*frame.Batch{batch(1000, []string{"a b", "k\tc"})}, "a\nb\nc\n--\n", false},
		{"pairs", []string{"map(split(value, ''), pair(len(value), #))"},
			[]*frame.Batch{batch(1000, []string{"hi"})}, "2\th\n2\ti\n--\n", false},
		{"--keep-key", []string{"--keep-key", "split(value, ',')"},
			[]*frame.Batch{batch(1000, []string{"k\ta,b"})}, "k\ta\nk\tb\n--\n", false},
		{"not a list", []string{"value"}, []*frame.Batch{batch(1000, []string{"x"})},
			`batch 1000, record 0 ("x"): value: the result is a string "x", not a list (flatmap makes one record of each element)`, true},
		{"nil element", []string{"[value, nil]"}, []*frame.Batch{batch(1000, []string{"x"})},
			`batch 1000, record 0 ("x"): [value, nil]: the result is nil, which has no text (element 1)`, true},
	})
}
