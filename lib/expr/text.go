package expr

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"time"
	"unsafe"

	"dstream/lib/text"
)

// Pair is a key and a value, made by pair(k, v): as a map or flatmap result
// it makes a keyed record (Spark's map(x => (k, v))); inside a list or map
// it is the JSON array [k,v].
type Pair struct{ Key, Value any }

// ErrNil is AppendText's error for a nil result.
var ErrNil = fmt.Errorf("the result is nil, which has no text")

// AppendText appends v as record text: a string as is, an integer in
// decimal, a float by AppendFloat, true or false, a list, map or pair as
// JSON (AppendJSON), a time as RFC 3339, a duration as Go prints it. nil
// is ErrNil; other types are an error naming the type.
func AppendText(dst []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return dst, ErrNil
	case string:
		return append(dst, x...), nil
	case int:
		return strconv.AppendInt(dst, int64(x), 10), nil
	case float64:
		return AppendFloat(dst, x)
	case bool:
		return strconv.AppendBool(dst, x), nil
	case int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, float32:
		return appendNumber(dst, x)
	case time.Time:
		return x.AppendFormat(dst, time.RFC3339Nano), nil
	case time.Duration:
		return append(dst, x.String()...), nil
	}
	return AppendJSON(dst, v)
}

// Text is AppendText to a string.
func Text(v any) (string, error) {
	b, err := AppendText(nil, v)
	return string(b), err
}

// AppendFloat appends f as decimal text with at most 15 significant
// digits, the precision a float64 holds for decimal input. So decimal
// arithmetic gives the decimal answer (94.65 + 2.49 is 97.14, not
// 97.14000000000001, and 0.1 + 0.2 is 0.3), an integral value has no
// decimal point (2.0 is 2), and 1e-6 <= |f| < 1e21 never uses exponent
// notation (beyond that, 1e+21 and 1e-07 do, as JavaScript prints them).
// NaN and infinities are an error: they are not numbers in text or JSON.
func AppendFloat(dst []byte, f float64) ([]byte, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return dst, fmt.Errorf("the result is %v, not a number (a float division by zero?)", f)
	}
	if f == 0 {
		return append(dst, '0'), nil
	}
	var tmp [32]byte
	e := strconv.AppendFloat(tmp[:0], f, 'e', 14, 64)
	r, _ := strconv.ParseFloat(unsafe.String(&e[0], len(e)), 64)
	if math.IsInf(r, 0) {
		r = f // rounding the largest floats to 15 digits overflows
	}
	if a := math.Abs(r); a >= 1e-6 && a < 1e21 {
		return strconv.AppendFloat(dst, r, 'f', -1, 64), nil
	}
	// Go writes at least two exponent digits (1e-07); JSON and JavaScript
	// readers expect 1e-7.
	start := len(dst)
	dst = strconv.AppendFloat(dst, r, 'e', -1, 64)
	if n := len(dst); n >= start+4 && dst[n-2] == '0' && (dst[n-3] == '-' || dst[n-3] == '+') {
		dst[n-2] = dst[n-1]
		dst = dst[:n-1]
	}
	return dst, nil
}

func appendNumber(dst []byte, v any) ([]byte, error) {
	rv := reflect.ValueOf(v)
	switch {
	case rv.CanInt():
		return strconv.AppendInt(dst, rv.Int(), 10), nil
	case rv.CanUint():
		return strconv.AppendUint(dst, rv.Uint(), 10), nil
	}
	return AppendFloat(dst, rv.Float())
}

// AppendJSON appends v as JSON, by lib/text's rule for elements: a string
// that is valid JSON (a number, array, object, true, false, null) is
// embedded as is, any other string is a JSON string; numbers, bools and nil
// are JSON's; lists are arrays, a pair is [key,value], and a map is an
// object with its keys in sorted order (Go's maps have none).
func AppendJSON(dst []byte, v any) ([]byte, error) {
	var err error
	switch x := v.(type) {
	case nil:
		return append(dst, "null"...), nil
	case string:
		return text.AppendJSON(dst, bytesView(x)), nil
	case int, float64, bool, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, float32:
		return AppendText(dst, x)
	case time.Time, time.Duration:
		b, _ := AppendText(nil, x)
		return text.AppendJSONString(dst, b), nil
	case []any:
		dst = append(dst, '[')
		for i, e := range x {
			if i > 0 {
				dst = append(dst, ',')
			}
			if dst, err = AppendJSON(dst, e); err != nil {
				return dst, err
			}
		}
		return append(dst, ']'), nil
	case []string:
		dst = append(dst, '[')
		for i, e := range x {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = text.AppendJSON(dst, bytesView(e))
		}
		return append(dst, ']'), nil
	case Pair:
		dst = append(dst, '[')
		if dst, err = AppendJSON(dst, x.Key); err != nil {
			return dst, err
		}
		dst = append(dst, ',')
		if dst, err = AppendJSON(dst, x.Value); err != nil {
			return dst, err
		}
		return append(dst, ']'), nil
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		dst = append(dst, '{')
		for i, k := range keys {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = text.AppendJSONString(dst, bytesView(k))
			dst = append(dst, ':')
			if dst, err = AppendJSON(dst, x[k]); err != nil {
				return dst, err
			}
		}
		return append(dst, '}'), nil
	}
	// Other lists and maps (expr's builtins make []int, map[any]any ...).
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Slice, reflect.Array:
		dst = append(dst, '[')
		for i := range rv.Len() {
			if i > 0 {
				dst = append(dst, ',')
			}
			if dst, err = AppendJSON(dst, rv.Index(i).Interface()); err != nil {
				return dst, err
			}
		}
		return append(dst, ']'), nil
	case reflect.Map:
		type kv struct {
			k string
			v any
		}
		var kvs []kv
		for it := rv.MapRange(); it.Next(); {
			k, err := Text(it.Key().Interface())
			if err != nil {
				return dst, err
			}
			kvs = append(kvs, kv{k, it.Value().Interface()})
		}
		slices.SortFunc(kvs, func(a, b kv) int {
			switch {
			case a.k < b.k:
				return -1
			case a.k > b.k:
				return 1
			}
			return 0
		})
		dst = append(dst, '{')
		for i, e := range kvs {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = text.AppendJSONString(dst, bytesView(e.k))
			dst = append(dst, ':')
			if dst, err = AppendJSON(dst, e.v); err != nil {
				return dst, err
			}
		}
		return append(dst, '}'), nil
	case reflect.Pointer:
		if rv.IsNil() {
			return append(dst, "null"...), nil
		}
		return AppendJSON(dst, rv.Elem().Interface())
	}
	return dst, fmt.Errorf("a result of type %T has no text form", v)
}

// isList tells whether v is a list (a slice or array) for TypeName.
func isList(v any) bool {
	k := reflect.TypeOf(v).Kind()
	return k == reflect.Slice || k == reflect.Array
}

// bytesView returns s's bytes without copying; they must not be written.
func bytesView(s string) []byte {
	return unsafe.Slice(unsafe.StringData(s), len(s))
}
