package ops

import (
	"fmt"
	"strconv"

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
