package ops

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"time"

	"dstream/lib/decimal"
	"dstream/lib/enum"
	"dstream/lib/expr"
	"dstream/lib/stage"
	"dstream/lib/text"
)

// ReduceFn is a named reduce function, shared by reduce, reducebykey and
// the windowed and stateful stages: the common cases of Spark's
// reduce((a, b) => ...) without an expression.
type ReduceFn int

// Named functions.
const (
	FnSum    ReduceFn = iota // exact decimal sum
	FnMin                    // smallest number
	FnMax                    // largest number
	FnCount                  // number of values
	FnConcat                 // values joined with a separator
	FnFirst                  // first value in input order
	FnLast                   // last value in input order
)

var reduceFnNames = []string{"sum", "min", "max", "count", "concat", "first", "last"}

// ReduceFnNames lists the names, for usage text.
const ReduceFnNames = "sum, min, max, count, concat, first, last"

// ParseReduceFn parses a function name.
func ParseReduceFn(s string) (ReduceFn, error) {
	return enum.Parse[ReduceFn]("function", reduceFnNames, s)
}

func (f ReduceFn) String() string { return reduceFnNames[f] }

// numeric tells whether f reads its values as decimal numbers.
func (f ReduceFn) numeric() bool { return f == FnSum || f == FnMin || f == FnMax }

// Reducer applies a named function. Its accumulators (Acc) are values the
// caller keeps, one per key, so that a batch of many keys is one slice, not
// one allocation per key.
type Reducer struct {
	Fn  ReduceFn
	Sep []byte // concat's separator
}

// Acc is one key's accumulator. The zero value is empty (no values yet).
type Acc struct {
	n   int64       // values added
	sum decimal.Sum // sum
	dec decimal.Dec // min, max
	txt []byte      // concat, first, last
}

// Empty tells whether no value has been added.
func (a *Acc) Empty() bool { return a.n == 0 }

// Reset empties a, keeping its text buffer for reuse.
func (a *Acc) Reset() { *a = Acc{txt: a.txt[:0]} }

// Add adds value v (copied where kept). A value that f cannot read is an
// error that quotes it; a is then unchanged.
func (r *Reducer) Add(a *Acc, v []byte) error {
	switch r.Fn {
	case FnSum:
		if err := a.sum.Add(v); err != nil {
			return err
		}
	case FnMin, FnMax:
		d, err := decimal.Parse(v)
		if err != nil {
			return err
		}
		if a.n == 0 || (r.Fn == FnMin && d.Cmp(a.dec) < 0) || (r.Fn == FnMax && d.Cmp(a.dec) > 0) {
			a.dec = d
		}
	case FnConcat:
		if a.n > 0 {
			a.txt = append(a.txt, r.Sep...)
		}
		a.txt = append(a.txt, v...)
	case FnFirst:
		if a.n == 0 {
			a.txt = append(a.txt[:0], v...)
		}
	case FnLast:
		a.txt = append(a.txt[:0], v...)
	}
	a.n++
	return nil
}

// Merge adds b's values to a, as if they came after a's in input order.
func (r *Reducer) Merge(a, b *Acc) {
	if b.n == 0 {
		return
	}
	if a.n == 0 {
		a.n, a.sum, a.dec = b.n, b.sum, b.dec
		a.txt = append(a.txt[:0], b.txt...)
		return
	}
	switch r.Fn {
	case FnSum:
		a.sum.AddDec(b.sum.Dec())
	case FnMin:
		a.dec = decimal.Min(a.dec, b.dec)
	case FnMax:
		a.dec = decimal.Max(a.dec, b.dec)
	case FnConcat:
		a.txt = append(append(a.txt, r.Sep...), b.txt...)
	case FnLast:
		a.txt = append(a.txt[:0], b.txt...)
	}
	a.n += b.n
}

// Append appends the result of a non-empty accumulator: numbers in
// canonical decimal text (see package decimal), count in decimal, text as
// it was gathered.
func (r *Reducer) Append(dst []byte, a *Acc) []byte {
	switch r.Fn {
	case FnSum:
		return a.sum.Dec().Append(dst)
	case FnMin, FnMax:
		return a.dec.Append(dst)
	case FnCount:
		return strconv.AppendInt(dst, a.n, 10)
	}
	return append(dst, a.txt...)
}

// valueError explains a value that fn cannot read.
func (r *Reducer) valueError(err error) error {
	return fmt.Errorf("%w (%s wants numbers like 12, -3.25 or 1e3)", err, r.Fn)
}

// newReducer reads a named function and --sep for a stage; the error is a
// usage error.
func newReducer(name, sep string, sepSet bool) (*Reducer, error) {
	fn, err := ParseReduceFn(name)
	if err != nil {
		return nil, stage.Usagef("%v", err)
	}
	if sepSet && fn != FnConcat {
		return nil, stage.Usagef("--sep applies to concat only, not to %s", fn)
	}
	return &Reducer{Fn: fn, Sep: []byte(sep)}, nil
}

// exprReducer reduces with an expression over a and b (--expr), one
// result per key index. Values enter the expression as exprArg gives them;
// results keep their expression types between calls and become text only
// at output (finish), as Spark's reduce keeps its objects.
type exprReducer struct {
	prog *expr.Program
	accs []any
	buf  []byte
	ends []int // end of result i in buf, after finish
}

func newExprReducer(src string) (*exprReducer, error) {
	p, err := expr.Compile(src, "a", "b")
	if err != nil {
		return nil, stage.Usagef("--expr: %v", err)
	}
	return &exprReducer{prog: p}, nil
}

// exprArg is a record value as a reduce expression sees it: a number when
// its text is a JSON number (so 'a + b' adds), the decoded JSON when it is
// an array or object, else the text.
func exprArg(b []byte) any {
	if len(b) > 0 && (b[0] == '-' || (b[0] >= '0' && b[0] <= '9')) && text.IsJSON(b) {
		if n, err := expr.Num(string(b)); err == nil {
			return n
		}
	}
	return expr.Value(b)
}

// add reduces value v into result i; isNew says i is a new key, whose
// first value is its result so far (the expression runs from the second).
func (e *exprReducer) add(i int, isNew bool, v []byte) error {
	x := exprArg(v)
	if isNew {
		e.accs = append(e.accs, x)
		return nil
	}
	e.prog.Set("a", e.accs[i])
	e.prog.Set("b", x)
	out, err := e.prog.Run()
	if err != nil {
		return fmt.Errorf("--expr %s: %w", e.prog.Source(), err)
	}
	e.accs[i] = out
	return nil
}

// finish renders every result as text; a result without text (nil, NaN)
// is an error naming its index.
func (e *exprReducer) finish() (bad int, err error) {
	e.buf, e.ends = e.buf[:0], e.ends[:0]
	for i, v := range e.accs {
		if e.buf, err = expr.AppendText(e.buf, v); err != nil {
			return i, fmt.Errorf("--expr %s: %w", e.prog.Source(), err)
		}
		e.ends = append(e.ends, len(e.buf))
	}
	return 0, nil
}

// appendResult appends result i, after finish.
func (e *exprReducer) appendResult(dst []byte, i int) []byte {
	start := 0
	if i > 0 {
		start = e.ends[i-1]
	}
	return append(dst, e.buf[start:e.ends[i]]...)
}

func (e *exprReducer) reset() {
	clear(e.accs)
	e.accs = e.accs[:0]
}

// invertible tells whether f has an inverse, so that a window can take out
// the values of a batch leaving it instead of reducing the rest again.
func (f ReduceFn) invertible() bool { return f == FnSum || f == FnCount }

// merge reduces two results, a (from earlier input) and b, with the
// expression, as a windowed stage merges the partial results of batches.
func (e *exprReducer) merge(a, b any) (any, error) {
	e.prog.Set("a", a)
	e.prog.Set("b", b)
	out, err := e.prog.Run()
	if err != nil {
		return nil, fmt.Errorf("--expr %s: %w", e.prog.Source(), err)
	}
	return out, nil
}

// Tags of appendExprValue's encoding.
const (
	evNil byte = iota
	evFalse
	evTrue
	evInt    // varint
	evFloat  // 8 bytes, IEEE 754 bits, little-endian
	evString // uvarint length, bytes
	evList   // uvarint count, values
	evMap    // uvarint count, (string, value) pairs in key order
	evPair   // key value, value value
	evTime   // uvarint length, RFC 3339 text with nanoseconds
	evDuration
)

// maxExprDepth bounds the nesting readExprValue follows, so that hostile
// checkpoint data cannot exhaust the stack.
const maxExprDepth = 1000

// appendExprValue appends an expression result in a binary form that
// readExprValue reads back, for checkpoints of --expr state: nil, bools,
// numbers, strings, lists, maps, pairs, times and durations. Integers of
// any Go type come back as int (uint64 beyond int64 as float64), other
// lists as []any, other maps as map[string]any with their keys' text, as
// expressions see them. A map's keys are written in order, so the same
// value always gives the same bytes.
func appendExprValue(dst []byte, v any) ([]byte, error) {
	return appendExprValueDepth(dst, v, 0)
}

func appendExprValueDepth(dst []byte, v any, depth int) ([]byte, error) {
	if depth > maxExprDepth {
		return dst, fmt.Errorf("an --expr result nested deeper than %d levels cannot be checkpointed", maxExprDepth)
	}
	var err error
	switch x := v.(type) {
	case nil:
		return append(dst, evNil), nil
	case bool:
		if x {
			return append(dst, evTrue), nil
		}
		return append(dst, evFalse), nil
	case int:
		return binary.AppendVarint(append(dst, evInt), int64(x)), nil
	case float64:
		return binary.LittleEndian.AppendUint64(append(dst, evFloat), math.Float64bits(x)), nil
	case string:
		return appendEvString(append(dst, evString), x), nil
	case []any:
		dst = binary.AppendUvarint(append(dst, evList), uint64(len(x)))
		for _, e := range x {
			if dst, err = appendExprValueDepth(dst, e, depth+1); err != nil {
				return dst, err
			}
		}
		return dst, nil
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		dst = binary.AppendUvarint(append(dst, evMap), uint64(len(x)))
		for _, k := range keys {
			dst = appendEvString(dst, k)
			if dst, err = appendExprValueDepth(dst, x[k], depth+1); err != nil {
				return dst, err
			}
		}
		return dst, nil
	case expr.Pair:
		if dst, err = appendExprValueDepth(append(dst, evPair), x.Key, depth+1); err != nil {
			return dst, err
		}
		return appendExprValueDepth(dst, x.Value, depth+1)
	case time.Time:
		return appendEvString(append(dst, evTime), x.Format(time.RFC3339Nano)), nil
	case time.Duration:
		return binary.AppendVarint(append(dst, evDuration), int64(x)), nil
	}
	rv := reflect.ValueOf(v)
	switch {
	case rv.CanInt():
		return appendExprValueDepth(dst, int(rv.Int()), depth)
	case rv.CanUint():
		if u := rv.Uint(); u <= math.MaxInt64 {
			return appendExprValueDepth(dst, int(u), depth)
		}
		return appendExprValueDepth(dst, float64(rv.Uint()), depth)
	case rv.CanFloat():
		return appendExprValueDepth(dst, rv.Float(), depth)
	}
	switch rv.Kind() {
	case reflect.Slice, reflect.Array:
		l := make([]any, rv.Len())
		for i := range l {
			l[i] = rv.Index(i).Interface()
		}
		return appendExprValueDepth(dst, l, depth)
	case reflect.Map:
		m := make(map[string]any, rv.Len())
		for it := rv.MapRange(); it.Next(); {
			k, err := expr.Text(it.Key().Interface())
			if err != nil {
				return dst, fmt.Errorf("an --expr result map key: %w", err)
			}
			m[k] = it.Value().Interface()
		}
		return appendExprValueDepth(dst, m, depth)
	case reflect.Pointer:
		if rv.IsNil() {
			return append(dst, evNil), nil
		}
		return appendExprValueDepth(dst, rv.Elem().Interface(), depth)
	}
	return dst, fmt.Errorf("an --expr result of type %T cannot be checkpointed", v)
}

func appendEvString(dst []byte, s string) []byte {
	return append(binary.AppendUvarint(dst, uint64(len(s))), s...)
}

// errExprValue is readExprValue's error for data it cannot read.
var errExprValue = errors.New("malformed --expr value")

// readExprValue reads a value that appendExprValue wrote at the start of b
// and returns it with the rest of b. It trusts no length it reads: every
// count is checked against the bytes left before anything is allocated.
func readExprValue(b []byte) (any, []byte, error) {
	return readExprValueDepth(b, 0)
}

func readExprValueDepth(b []byte, depth int) (any, []byte, error) {
	if len(b) == 0 || depth > maxExprDepth {
		return nil, b, errExprValue
	}
	tag, b := b[0], b[1:]
	switch tag {
	case evNil:
		return nil, b, nil
	case evFalse, evTrue:
		return tag == evTrue, b, nil
	case evInt, evDuration:
		x, n := binary.Varint(b)
		if n <= 0 {
			return nil, b, errExprValue
		}
		if tag == evDuration {
			return time.Duration(x), b[n:], nil
		}
		return int(x), b[n:], nil
	case evFloat:
		if len(b) < 8 {
			return nil, b, errExprValue
		}
		return math.Float64frombits(binary.LittleEndian.Uint64(b)), b[8:], nil
	case evString, evTime:
		s, rest, err := readEvString(b)
		if err != nil || tag == evString {
			return s, rest, err
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return nil, rest, errExprValue
		}
		return t, rest, nil
	case evList:
		n, w := binary.Uvarint(b)
		if w <= 0 || n > uint64(len(b)-w) { // every value takes a byte at least
			return nil, b, errExprValue
		}
		b = b[w:]
		l := make([]any, 0, n)
		for range n {
			var v any
			var err error
			if v, b, err = readExprValueDepth(b, depth+1); err != nil {
				return nil, b, err
			}
			l = append(l, v)
		}
		return l, b, nil
	case evMap:
		n, w := binary.Uvarint(b)
		if w <= 0 || n > uint64(len(b)-w)/2 { // a key and a value take 2 bytes at least
			return nil, b, errExprValue
		}
		b = b[w:]
		m := make(map[string]any, n)
		for range n {
			k, rest, err := readEvString(b)
			if err != nil {
				return nil, rest, err
			}
			var v any
			if v, b, err = readExprValueDepth(rest, depth+1); err != nil {
				return nil, b, err
			}
			m[k] = v
		}
		return m, b, nil
	case evPair:
		k, rest, err := readExprValueDepth(b, depth+1)
		if err != nil {
			return nil, rest, err
		}
		v, rest, err := readExprValueDepth(rest, depth+1)
		if err != nil {
			return nil, rest, err
		}
		return expr.Pair{Key: k, Value: v}, rest, nil
	}
	return nil, b, errExprValue
}

func readEvString(b []byte) (string, []byte, error) {
	n, w := binary.Uvarint(b)
	if w <= 0 || n > uint64(len(b)-w) {
		return "", b, errExprValue
	}
	b = b[w:]
	return string(b[:n]), b[n:], nil
}
