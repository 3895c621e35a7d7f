package expr

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/bits"
	"strconv"
	"strings"

	"dstream/lib/frame"
	"dstream/lib/text"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"
)

// The commonest per-record expressions pick a piece of the record:
//
//	value, key                       the text itself
//	split(value, ",")[2]             a field of delimited text (also on key)
//	value.amount, value["a"].b       a member of a JSON object (after parse)
//	key + ":" + split(value, ",")[1] strings of those shapes and literals joined
//	num(split(value, ",")[3]) * 2    arithmetic (+ - * / %) on num() of those
//	                                 text pieces and number literals
//
// Running them in expr's VM costs a split into a new slice, or a JSON
// object decoded into a map, per record: 1.6M records/s for a keyby on two
// split fields, against tens of millions for finding the field in place. A
// fastPath recognizes these shapes when the expression is compiled and
// finds the piece in the record's bytes. It answers only when the result
// is certain to be the text RunRecord and AppendText would give; for any
// other record (a missing field, a JSON string with escapes, a number whose
// text AppendText would rewrite) it declines, and the caller runs the
// expression as usual, errors and all. fast_test.go checks the two agree.
type fastPath struct {
	onKey  bool     // the expression reads key, not value
	sep    []byte   // split's separator; nil when not a split
	field  int      // split's index
	member [][]byte // the member names, outermost first; nil when not a member access
	// concat, when not nil, makes the result the parts' texts joined.
	concat []concatPart
	// arith, when not nil, makes the result a number computed as expr
	// would, without boxing one per record.
	arith *arithNode
}

// concatPart is a literal string, or, when piece is not nil, a piece of
// the record that must be a string (expr's + on strings joins them).
type concatPart struct {
	lit   []byte
	piece *fastPath
}

// compileFast returns the fast path of src, or nil when src has no
// recognized shape.
func compileFast(src string) *fastPath {
	tree, err := parser.Parse(src)
	if err != nil {
		return nil
	}
	if f := matchFast(tree.Node); f != nil {
		return f
	}
	if a := matchArith(tree.Node); a != nil && a.op != 0 && a.hasPiece() {
		return &fastPath{arith: a}
	}
	return nil
}

func matchFast(n ast.Node) *fastPath {
	switch n := n.(type) {
	case *ast.BinaryNode:
		if n.Operator != "+" {
			return nil
		}
		var parts []concatPart
		for _, side := range []ast.Node{n.Left, n.Right} {
			if lit, ok := side.(*ast.StringNode); ok {
				parts = append(parts, concatPart{lit: []byte(lit.Value)})
				continue
			}
			f := matchFast(side)
			switch {
			case f == nil:
				return nil
			case f.concat != nil:
				parts = append(parts, f.concat...)
			default:
				parts = append(parts, concatPart{piece: f})
			}
		}
		if len(parts) == 2 && parts[0].piece == nil && parts[1].piece == nil {
			return nil // two literals: not a + of strings we can see
		}
		return &fastPath{concat: parts}
	case *ast.IdentifierNode:
		switch n.Value {
		case "value":
			return &fastPath{}
		case "key":
			return &fastPath{onKey: true}
		}
	case *ast.MemberNode:
		if n.Optional || n.Method {
			return nil
		}
		// split(value|key, "SEP")[N]
		if call, ok := n.Node.(*ast.BuiltinNode); ok {
			idx, ok := n.Property.(*ast.IntegerNode)
			if call.Name != "split" || !ok || idx.Value < 0 || len(call.Arguments) != 2 {
				return nil
			}
			v, ok1 := call.Arguments[0].(*ast.IdentifierNode)
			sep, ok2 := call.Arguments[1].(*ast.StringNode)
			if !ok1 || !ok2 || sep.Value == "" || (v.Value != "value" && v.Value != "key") {
				return nil
			}
			return &fastPath{onKey: v.Value == "key", sep: []byte(sep.Value), field: idx.Value}
		}
		// value.a.b, value["a"]["b"]
		var names [][]byte
		for {
			m, ok := n.Node.(*ast.MemberNode)
			name, isName := n.Property.(*ast.StringNode)
			if !isName || n.Optional || n.Method {
				return nil
			}
			names = append([][]byte{[]byte(name.Value)}, names...)
			if !ok {
				break
			}
			n = m
		}
		if id, ok := n.Node.(*ast.IdentifierNode); ok && id.Value == "value" {
			return &fastPath{member: names}
		}
	}
	return nil
}

// text returns the result's text for r, aliasing r's bytes or appended to
// dst, and dst; or false when the expression must run.
func (f *fastPath) text(dst []byte, r *frame.Record) ([]byte, []byte, bool) {
	if f.arith != nil {
		n, ok := f.arith.eval(r)
		if !ok {
			return nil, dst, false
		}
		start := len(dst)
		if n.isFloat {
			if math.IsNaN(n.f) || math.IsInf(n.f, 0) {
				return nil, dst, false // an error, which the expression gives
			}
			dst, _ = AppendFloat(dst, n.f)
		} else {
			dst = strconv.AppendInt(dst, int64(n.i), 10)
		}
		return dst[start:len(dst):len(dst)], dst, true
	}
	if f.concat == nil {
		t, ok := f.piece(r, false)
		return t, dst, ok
	}
	start := len(dst)
	for _, p := range f.concat {
		if p.piece == nil {
			dst = append(dst, p.lit...)
			continue
		}
		t, ok := p.piece.piece(r, true)
		if !ok {
			return nil, dst[:start], false
		}
		dst = append(dst, t...)
	}
	return dst[start:len(dst):len(dst)], dst, true
}

// piece returns the text of a shape other than concat; with str, only when
// the result is a string (a JSON number or true is not).
func (f *fastPath) piece(r *frame.Record, str bool) ([]byte, bool) {
	if f.onKey {
		if !r.Keyed {
			return nil, false // key is nil
		}
		if f.sep == nil {
			return r.Key, true
		}
		return splitField(r.Key, f.sep, f.field)
	}
	v := r.Value
	composite := len(v) > 0 && (v[0] == '{' || v[0] == '[')
	switch {
	case f.member != nil:
		if !composite || !text.IsJSON(v) {
			return nil, false
		}
		return jsonMember(v, f.member, str)
	case composite:
		// Valid JSON would be decoded (and split of it fails, or AppendText
		// re-encodes it); not worth telling apart here.
		return nil, false
	case f.sep == nil:
		return v, true
	}
	return splitField(v, f.sep, f.field)
}

// splitField returns strings.Split(s, sep)[n], or false when there are not
// n+1 fields.
func splitField(s, sep []byte, n int) ([]byte, bool) {
	if len(sep) == 1 {
		start := 0
		if n > 0 {
			i := nthByte(s, sep[0], n-1)
			if i < 0 {
				return nil, false
			}
			start = i + 1
		}
		s = s[start:]
		if i := nthByte(s, sep[0], 0); i >= 0 {
			s = s[:i]
		}
		return s, true
	}
	for ; n > 0; n-- {
		i := bytes.Index(s, sep)
		if i < 0 {
			return nil, false
		}
		s = s[i+len(sep):]
	}
	if i := bytes.Index(s, sep); i >= 0 {
		s = s[:i]
	}
	return s, true
}

// nthByte returns the index of the n-th (from 0) byte c in s, or -1. It
// looks at 8 bytes at a time: fields are short, and a call to
// bytes.IndexByte per field costs more than the search.
func nthByte(s []byte, c byte, n int) int {
	const ones, highs, lows = 0x0101010101010101, 0x8080808080808080, 0x7f7f7f7f7f7f7f7f
	pattern := ones * uint64(c)
	i := 0
	for ; i+8 <= len(s); i += 8 {
		x := binary.LittleEndian.Uint64(s[i:]) ^ pattern
		// The high bit of each byte of m is set where x's byte is 0, exactly
		// (no borrow from one byte into the next).
		m := ^(((x & lows) + lows) | x) & highs
		k := bits.OnesCount64(m)
		if n < k {
			for ; n > 0; n-- {
				m &= m - 1
			}
			return i + bits.TrailingZeros64(m)/8
		}
		n -= k
	}
	for ; i < len(s); i++ {
		if s[i] == c {
			if n == 0 {
				return i
			}
			n--
		}
	}
	return -1
}

// jsonMember finds the member path names in b, valid JSON, and returns its
// text as AppendText would write the decoded value, or false; with str,
// only when it is a string.
func jsonMember(b []byte, names [][]byte, str bool) ([]byte, bool) {
	for _, name := range names {
		var ok bool
		if b, ok = objectMember(b, name); !ok {
			return nil, false
		}
	}
	if str && b[0] != '"' {
		return nil, false
	}
	return scalarText(b)
}

// objectMember returns the raw value of member name in the JSON object b
// (the last one, as a decoder keeps, when a name repeats), or false when b
// is not an object, lacks the member, or has a name with escapes.
func objectMember(b []byte, name []byte) ([]byte, bool) {
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return nil, false
	}
	var found []byte
	i = skipWS(b, i+1)
	if b[i] == '}' {
		return nil, false
	}
	for {
		end := skipString(b, i)
		k := b[i+1 : end-1]
		if bytes.IndexByte(k, '\\') >= 0 {
			return nil, false
		}
		i = skipWS(b, end)
		i = skipWS(b, i+1) // ':'
		vend := skipValue(b, i)
		if bytes.Equal(k, name) {
			found = b[i:vend]
		}
		i = skipWS(b, vend)
		if b[i] == '}' {
			break
		}
		i = skipWS(b, i+1) // ','
	}
	return found, found != nil
}

// scalarText returns the text AppendText gives a decoded JSON scalar, when
// it is a piece of the scalar's own text.
func scalarText(v []byte) ([]byte, bool) {
	if len(v) == 0 {
		return nil, false
	}
	switch c := v[0]; {
	case c == '"':
		s := v[1 : len(v)-1]
		if bytes.IndexByte(s, '\\') >= 0 {
			return nil, false
		}
		return s, true
	case c == 't' || c == 'f':
		return v, true
	case c == '-' || (c >= '0' && c <= '9'):
		return numberText(v)
	}
	return nil, false // null, objects, arrays
}

// numberText returns the text of the decoded JSON number v as AppendText
// writes it: an int in decimal, a float in its shortest form rounded to 15
// significant digits. It answers for integers of up to 18 digits, which
// are v itself ("-0" aside), and for decimals without an exponent of at most
// 15 significant digits and at least 1e-6, which are v without trailing
// fractional zeros (a decimal of 15 digits or fewer is the shortest text of
// the float nearest it).
func numberText(v []byte) ([]byte, bool) {
	digits := v
	if digits[0] == '-' {
		digits = digits[1:]
	}
	point := bytes.IndexByte(digits, '.')
	if bytes.IndexAny(digits, "eE") >= 0 {
		return nil, false
	}
	if point < 0 {
		if len(digits) > 18 || string(v) == "-0" {
			return nil, false
		}
		return v, true
	}
	end := len(v)
	for v[end-1] == '0' {
		end--
	}
	if v[end-1] == '.' {
		end--
	}
	sig := digits[:len(digits)-(len(v)-end)]
	// Count significant digits: leading zeros (and the point) do not count.
	n, lead := 0, true
	for _, c := range sig {
		switch {
		case c == '.':
		case c == '0' && lead:
		default:
			lead = false
			n++
		}
	}
	if n == 0 || n > 15 {
		return nil, false // zero (maybe "-0.0"), or rounded to 15 digits
	}
	if digits[0] == '0' {
		// 0.000001 is the smallest AppendFloat writes without an exponent.
		frac := digits[point+1:]
		if z := len(frac) - len(bytes.TrimLeft(frac, "0")); z > 5 {
			return nil, false
		}
	}
	return v[:end], true
}

func skipWS(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// skipString returns the index after the JSON string at b[i] == '"'.
func skipString(b []byte, i int) int {
	for i++; b[i] != '"'; i++ {
		if b[i] == '\\' {
			i++
		}
	}
	return i + 1
}

// skipValue returns the index after the JSON value at b[i]; b is valid.
func skipValue(b []byte, i int) int {
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for ; ; i++ {
			switch b[i] {
			case '"':
				i = skipString(b, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
	}
	for i < len(b) {
		switch b[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return i
		}
		i++
	}
	return i
}

// arithNode is arithmetic as expr does it on Go numbers: int op int is an
// int (wrapping on overflow), except that / always gives a float; with a
// float on either side the int is converted; % takes ints only. A leaf is
// a literal or num(piece), the piece's text read as Num reads it.
type arithNode struct {
	op          byte // '+', '-', '*', '/', '%', 'n' (negation); 0 for a leaf
	left, right *arithNode
	lit         number
	piece       *fastPath // num(piece), when not nil
}

type number struct {
	isFloat bool
	i       int
	f       float64
}

func (n number) float() float64 {
	if n.isFloat {
		return n.f
	}
	return float64(n.i)
}

func matchArith(n ast.Node) *arithNode {
	switch n := n.(type) {
	case *ast.IntegerNode:
		return &arithNode{lit: number{i: n.Value}}
	case *ast.FloatNode:
		return &arithNode{lit: number{isFloat: true, f: n.Value}}
	case *ast.UnaryNode:
		if x := matchArith(n.Node); x != nil && n.Operator == "-" {
			return &arithNode{op: 'n', left: x}
		}
	case *ast.CallNode:
		id, ok := n.Callee.(*ast.IdentifierNode)
		if !ok || id.Value != "num" || len(n.Arguments) != 1 {
			return nil
		}
		// Of text only: a JSON member may be a number already.
		if f := matchFast(n.Arguments[0]); f != nil && f.member == nil && f.concat == nil {
			return &arithNode{piece: f}
		}
	case *ast.BinaryNode:
		if len(n.Operator) != 1 || !strings.Contains("+-*/%", n.Operator) {
			return nil
		}
		l, r := matchArith(n.Left), matchArith(n.Right)
		if l != nil && r != nil {
			return &arithNode{op: n.Operator[0], left: l, right: r}
		}
	}
	return nil
}

func (a *arithNode) hasPiece() bool {
	return a != nil && (a.piece != nil || a.left.hasPiece() || a.right.hasPiece())
}

// eval computes a for r, or false where expr would fail (num of text that
// is not a number, % of floats or by zero).
func (a *arithNode) eval(r *frame.Record) (number, bool) {
	switch a.op {
	case 0:
		if a.piece == nil {
			return a.lit, true
		}
		t, ok := a.piece.piece(r, true)
		if !ok {
			return number{}, false
		}
		return numOf(t)
	case 'n':
		x, ok := a.left.eval(r)
		x.i, x.f = -x.i, -x.f
		return x, ok
	}
	x, ok1 := a.left.eval(r)
	y, ok2 := a.right.eval(r)
	if !ok1 || !ok2 {
		return number{}, false
	}
	if a.op == '/' {
		return number{isFloat: true, f: x.float() / y.float()}, true
	}
	if !x.isFloat && !y.isFloat {
		switch a.op {
		case '+':
			return number{i: x.i + y.i}, true
		case '-':
			return number{i: x.i - y.i}, true
		case '*':
			return number{i: x.i * y.i}, true
		}
		if y.i == 0 {
			return number{}, false
		}
		return number{i: x.i % y.i}, true
	}
	switch a.op {
	case '+':
		return number{isFloat: true, f: x.float() + y.float()}, true
	case '-':
		return number{isFloat: true, f: x.float() - y.float()}, true
	case '*':
		return number{isFloat: true, f: x.float() * y.float()}, true
	}
	return number{}, false // % of a float
}

// numOf reads text as Num does: an int when it is a whole number that fits
// int64, else a float in decimal notation.
func numOf(t []byte) (number, bool) {
	s := strings.TrimSpace(view(t))
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return number{i: int(n)}, true
	}
	if isDecimal(s) {
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return number{isFloat: true, f: f}, true
		}
	}
	return number{}, false
}
