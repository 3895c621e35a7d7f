package ops

import (
	"testing"

	"dstream/lib/frame"
)

func TestKeyBy(t *testing.T) {
	tx := `{"id":5,"account_number":"456-DEF-456","amount":20.0}`
	runExprCases(t, KeyBy, []exprCase{
		{"value kept", []string{"len(value)"},
			[]*frame.Batch{batch(1000, []string{"abc", "old\tde"})}, "3\tabc\n2\tde\n--\n", false},
		{"--value", []string{"--value", "1", "value"},
			[]*frame.Batch{batch(1000, []string{"a", "b"})}, "a\t1\nb\t1\n--\n", false},
		{"parsed record", []string{"--value", "value.amount", "value.account_number"},
			[]*frame.Batch{batch(1000, []string{tx})}, "456-DEF-456\t20\n--\n", false},
		{"nil key", []string{"value.missing"}, []*frame.Batch{batch(1000, []string{tx})},
			`batch 1000, record 0 ("` + `{\"id\":5,\"account_number\":\"456-DEF-456\",\"amount\":20.0}"): value.missing: the result is nil, which has no text`, true},
		{"--value fails", []string{"--value", "int(value)", "value"}, []*frame.Batch{batch(1000, []string{"x"})},
			`batch 1000, record 0 ("x"): int(value): invalid operation: int(x) (at column 1)`, true},
	})
}
