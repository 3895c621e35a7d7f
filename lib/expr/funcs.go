package expr

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/expr-lang/expr"
)

// functions are the helpers added to expr's builtins (which already have
// int, float, string, lower, upper, trim, split, len, sum, ...).
var functions = []expr.Option{
	// num(x): decimal text or a number → a number: an int when the text
	// is a whole number that fits int64, else a float.
	expr.Function("num", func(args ...any) (any, error) { return Num(args[0]) },
		new(func(any) any)),
	// text(x): the record text of x (AppendText); nil is "null".
	expr.Function("text", func(args ...any) (any, error) {
		if args[0] == nil {
			return "null", nil
		}
		return Text(args[0])
	}, new(func(any) string)),
	// pair(k, v): a keyed record as a map or flatmap result.
	expr.Function("pair", func(args ...any) (any, error) {
		return Pair{Key: args[0], Value: args[1]}, nil
	}, new(func(any, any) Pair)),
}

// Num converts decimal text or a number to a number: int for integers
// (whole-number text that fits int64), float64 otherwise.
func Num(x any) (any, error) {
	switch v := x.(type) {
	case int:
		return v, nil
	case float64:
		return v, nil
	case string:
		s := strings.TrimSpace(v)
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return int(n), nil
		}
		if isDecimal(s) {
			if f, err := strconv.ParseFloat(s, 64); err == nil {
				return f, nil
			}
		}
		return nil, fmt.Errorf("num(%q): not a number", v)
	case int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, float32:
		b, _ := appendNumber(nil, v)
		return Num(string(b))
	}
	return nil, fmt.Errorf("num(%s): not a number", TypeName(x))
}

// isDecimal tells whether s is a number in decimal notation, optionally
// with an exponent: what ParseFloat takes minus hex, inf, nan and
// underscores.
func isDecimal(s string) bool {
	if s == "" {
		return false
	}
	digits := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits = true
		case c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E':
		default:
			return false
		}
	}
	return digits
}
