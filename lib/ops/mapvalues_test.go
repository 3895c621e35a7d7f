package ops

import (
	"testing"

	"dstream/lib/frame"
)

func TestMapValues(t *testing.T) {
	runExprCases(t, MapValues, []exprCase{
		{"same key", []string{"int(value) + 10"},
			[]*frame.Batch{batch(1000, []string{"a\t2", "b\t1"}, []string{"\t2"})}, "a\t12\nb\t11\n|\n\t12\n--\n", false},
		{"key visible", []string{"key + '=' + value"},
			[]*frame.Batch{batch(1000, []string{"a\t2"})}, "a\ta=2\n--\n", false},
		{"unkeyed", []string{"value"}, []*frame.Batch{batch(1000, []string{"a\t2", "b"})},
			"batch 1000, record 1 has no key (mapvalues wants keyed records; use keyby first)", true},
	})
}
