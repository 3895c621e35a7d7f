// Package decimal does exact arithmetic on decimal text, as DESIGN.md's
// "Values and text" asks: 94.65 + 2.49 is 97.14, never 97.14000000000001,
// and an integer result prints without a decimal point (10.5 + 9.5 is 20).
//
// A Dec is a mantissa and a scale, the value mantissa × 10^-scale. The
// mantissa is an int64 while it fits, so parsing and summing ordinary
// amounts allocate nothing; past int64 it moves to a math/big.Int and the
// results stay exact.
//
// Accepted text: an optional sign, digits with an optional decimal point
// (at least one digit in all: "12", "-3.25", "+.5", "7."), and an optional
// exponent ("1e3", "2.5E-2") of at most ±MaxExponent. Nothing else, not even
// surrounding spaces: anything else is an error that quotes the text.
package decimal

import (
	"fmt"
	"math"
	"math/big"
	"math/bits"
	"strconv"
)

// MaxExponent bounds an exponent and the scale of a value, so that hostile
// text ("1e999999999") cannot make the arithmetic allocate without bound.
const MaxExponent = 1000

// Dec is an exact decimal number, mant × 10^-scale with scale ≥ 0. The zero
// value is 0. A Dec is immutable: operations return new values.
type Dec struct {
	m     int64
	scale int32
	b     *big.Int // the mantissa when it does not fit in m; m is then 0
}

// Error is text that is not a decimal number.
type Error struct {
	Text   string // the text, shortened when long
	Reason string // empty, or why a well-formed number is refused
}

func (e *Error) Error() string {
	if e.Reason != "" {
		return fmt.Sprintf("%s is out of range (%s)", strconv.Quote(e.Text), e.Reason)
	}
	return fmt.Sprintf("%s is not a decimal number", strconv.Quote(e.Text))
}

func parseError(b []byte, reason string) error {
	const max = 64
	s := string(b)
	if len(s) > max {
		s = s[:max] + "..."
	}
	return &Error{Text: s, Reason: reason}
}

var pow10 = [...]uint64{
	1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19,
}

// Parse reads decimal text. It does not allocate unless the mantissa
// outgrows int64 (more than 18 significant digits).
func Parse(b []byte) (Dec, error) {
	i := 0
	neg := false
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		neg = b[0] == '-'
		i++
	}
	var m uint64
	digits, frac := 0, 0
	overflow := false
	dot := false
	for ; i < len(b); i++ {
		c := b[i]
		if c == '.' {
			if dot {
				return Dec{}, parseError(b, "")
			}
			dot = true
			continue
		}
		if c < '0' || c > '9' {
			break
		}
		digits++
		if dot {
			frac++
		}
		if m > (math.MaxInt64-9)/10 {
			overflow = true
		} else {
			m = m*10 + uint64(c-'0')
		}
	}
	if digits == 0 {
		return Dec{}, parseError(b, "")
	}
	exp := 0
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		eneg := false
		if i < len(b) && (b[i] == '-' || b[i] == '+') {
			eneg = b[i] == '-'
			i++
		}
		start := i
		for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
			if exp <= MaxExponent {
				exp = exp*10 + int(b[i]-'0')
			}
		}
		if i == start {
			return Dec{}, parseError(b, "")
		}
		if exp > MaxExponent {
			if i == len(b) {
				return Dec{}, parseError(b, fmt.Sprintf("exponent beyond ±%d", MaxExponent))
			}
			return Dec{}, parseError(b, "")
		}
		if eneg {
			exp = -exp
		}
	}
	if i != len(b) {
		return Dec{}, parseError(b, "")
	}
	scale := frac - exp
	if scale > MaxExponent || scale < -MaxExponent {
		return Dec{}, parseError(b, fmt.Sprintf("scale beyond ±%d", MaxExponent))
	}
	if overflow {
		return parseBig(b, neg, scale), nil
	}
	d := Dec{m: int64(m), scale: int32(scale)}
	if neg {
		d.m = -d.m
	}
	if scale < 0 {
		return d.rescale(0), nil
	}
	return d, nil
}

// ParseString is Parse for a string.
func ParseString(s string) (Dec, error) { return Parse([]byte(s)) }

// parseBig reads the digits of well-formed text b into a big mantissa.
func parseBig(b []byte, neg bool, scale int) Dec {
	var digits []byte
	for _, c := range b {
		if c == 'e' || c == 'E' {
			break
		}
		if c >= '0' && c <= '9' {
			digits = append(digits, c)
		}
	}
	x, _ := new(big.Int).SetString(string(digits), 10)
	if neg {
		x.Neg(x)
	}
	d := Dec{b: x, scale: int32(scale)}
	if scale < 0 {
		d = d.rescale(0)
	}
	return d.norm()
}

// norm moves a big mantissa back to int64 when it fits, dropping trailing
// fractional zeros first, so that the fast path resumes after a detour.
func (d Dec) norm() Dec {
	if d.b == nil {
		return d
	}
	if !d.b.IsInt64() && d.scale > 0 {
		var q, r big.Int
		ten := big.NewInt(10)
		x := new(big.Int).Set(d.b)
		s := d.scale
		for s > 0 {
			q.QuoRem(x, ten, &r)
			if r.Sign() != 0 {
				break
			}
			x.Set(&q)
			s--
		}
		d = Dec{b: x, scale: s}
	}
	if d.b.IsInt64() {
		return Dec{m: d.b.Int64(), scale: d.scale}
	}
	return d
}

// bigMant returns d's mantissa as a new big.Int.
func (d Dec) bigMant() *big.Int {
	if d.b != nil {
		return new(big.Int).Set(d.b)
	}
	return big.NewInt(d.m)
}

// mulPow10 returns m × 10^k, or false when that overflows int64.
func mulPow10(m int64, k int32) (int64, bool) {
	if m == 0 || k == 0 {
		return m, true
	}
	if k >= int32(len(pow10)) {
		return 0, false
	}
	u := uint64(m)
	if m < 0 {
		u = uint64(-m)
	}
	hi, lo := bits.Mul64(u, pow10[k])
	if hi != 0 || lo > math.MaxInt64 {
		return 0, false
	}
	if m < 0 {
		return -int64(lo), true
	}
	return int64(lo), true
}

// rescale returns d with scale s ≥ d.scale, or, for a negative d.scale
// (from an exponent), with scale 0.
func (d Dec) rescale(s int32) Dec {
	k := s - d.scale
	if k == 0 {
		return d
	}
	if d.b == nil {
		if m, ok := mulPow10(d.m, k); ok {
			return Dec{m: m, scale: s}
		}
	}
	p := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(k)), nil)
	return Dec{b: p.Mul(p, d.bigMant()), scale: s}
}

// Add returns d + e.
func (d Dec) Add(e Dec) Dec {
	if d.b == nil && e.b == nil {
		if a, b, ok := align(d, e); ok {
			s := a.m + b.m
			// No signed overflow: operands of different signs, or a sum
			// of their sign.
			if (a.m >= 0) != (b.m >= 0) || (s >= 0) == (a.m >= 0) {
				return Dec{m: s, scale: a.scale}
			}
		}
	}
	s := max(d.scale, e.scale)
	a, b := d.rescale(s), e.rescale(s)
	x := a.bigMant()
	return Dec{b: x.Add(x, b.bigMant()), scale: s}.norm()
}

// align brings two int64 decimals to one scale; false when that overflows.
func align(d, e Dec) (Dec, Dec, bool) {
	switch {
	case d.scale < e.scale:
		m, ok := mulPow10(d.m, e.scale-d.scale)
		return Dec{m: m, scale: e.scale}, e, ok
	case d.scale > e.scale:
		m, ok := mulPow10(e.m, d.scale-e.scale)
		return d, Dec{m: m, scale: d.scale}, ok
	}
	return d, e, true
}

// Cmp compares d and e: -1 if d < e, 0 if equal, +1 if d > e.
func (d Dec) Cmp(e Dec) int {
	if d.b == nil && e.b == nil {
		if a, b, ok := align(d, e); ok {
			switch {
			case a.m < b.m:
				return -1
			case a.m > b.m:
				return 1
			}
			return 0
		}
	}
	s := max(d.scale, e.scale)
	return d.rescale(s).bigMant().Cmp(e.rescale(s).bigMant())
}

// Min returns the smaller of d and e, d when they are equal.
func Min(d, e Dec) Dec {
	if e.Cmp(d) < 0 {
		return e
	}
	return d
}

// Max returns the larger of d and e, d when they are equal.
func Max(d, e Dec) Dec {
	if e.Cmp(d) > 0 {
		return e
	}
	return d
}

// Sign returns -1, 0 or +1.
func (d Dec) Sign() int {
	if d.b != nil {
		return d.b.Sign()
	}
	switch {
	case d.m < 0:
		return -1
	case d.m > 0:
		return 1
	}
	return 0
}

// Append appends d's canonical text: no trailing fractional zeros, no
// decimal point for an integer, no exponent, "-" only below zero.
func (d Dec) Append(dst []byte) []byte {
	if d.b != nil {
		return d.appendBig(dst)
	}
	m, s := d.m, d.scale
	for s > 0 && m%10 == 0 {
		m /= 10
		s--
	}
	var u uint64
	if m < 0 {
		dst = append(dst, '-')
		u = uint64(-m) // also right for MinInt64
	} else {
		u = uint64(m)
	}
	var buf [20]byte
	return appendPoint(dst, strconv.AppendUint(buf[:0], u, 10), int(s))
}

func (d Dec) appendBig(dst []byte) []byte {
	x := d.b
	if x.Sign() < 0 {
		dst = append(dst, '-')
		x = new(big.Int).Neg(x)
	}
	digits := x.Append(nil, 10)
	s := int(d.scale)
	for s > 0 && len(digits) > 1 && digits[len(digits)-1] == '0' {
		digits = digits[:len(digits)-1]
		s--
	}
	return appendPoint(dst, digits, s)
}

// appendPoint appends digits with a decimal point s digits from the right.
func appendPoint(dst, digits []byte, s int) []byte {
	if s == 0 {
		return append(dst, digits...)
	}
	if len(digits) > s {
		dst = append(dst, digits[:len(digits)-s]...)
		dst = append(dst, '.')
		return append(dst, digits[len(digits)-s:]...)
	}
	dst = append(dst, '0', '.')
	for range s - len(digits) {
		dst = append(dst, '0')
	}
	return append(dst, digits...)
}

// String returns d's canonical text.
func (d Dec) String() string { return string(d.Append(nil)) }

// Sum is an accumulator for adding many numbers. Adding text that fits the
// int64 fast path does not allocate. The zero value is an empty sum, 0.
type Sum struct {
	d Dec
}

// Add parses b and adds it. On error the sum is unchanged.
func (s *Sum) Add(b []byte) error {
	x, err := Parse(b)
	if err != nil {
		return err
	}
	s.AddDec(x)
	return nil
}

// AddDec adds x.
func (s *Sum) AddDec(x Dec) {
	if s.d.b == nil && x.b == nil && s.d.scale == x.scale {
		// The common case inlined: same scale, no overflow.
		r := s.d.m + x.m
		if (s.d.m >= 0) != (x.m >= 0) || (r >= 0) == (x.m >= 0) {
			s.d.m = r
			return
		}
	}
	s.d = s.d.Add(x)
}

// Dec returns the sum.
func (s *Sum) Dec() Dec { return s.d }

// AddText returns the text of a + b, appended to dst.
func AddText(dst, a, b []byte) ([]byte, error) {
	x, err := Parse(a)
	if err != nil {
		return dst, err
	}
	y, err := Parse(b)
	if err != nil {
		return dst, err
	}
	return x.Add(y).Append(dst), nil
}

// Compare compares two decimal texts.
func Compare(a, b []byte) (int, error) {
	x, err := Parse(a)
	if err != nil {
		return 0, err
	}
	y, err := Parse(b)
	if err != nil {
		return 0, err
	}
	return x.Cmp(y), nil
}

// Neg returns -d.
func (d Dec) Neg() Dec {
	if d.b == nil && d.m != math.MinInt64 {
		return Dec{m: -d.m, scale: d.scale}
	}
	x := d.bigMant()
	return Dec{b: x.Neg(x), scale: d.scale}.norm()
}

// Sub returns d - e, exactly: the inverse of Add, so that a windowed sum
// can take out what left the window.
func (d Dec) Sub(e Dec) Dec { return d.Add(e.Neg()) }

// Parts returns d as mant × 10^-scale when the mantissa fits in an int64
// (ok false otherwise), so that callers can keep many numbers in compact,
// pointer-free columns. FromParts is its inverse.
func (d Dec) Parts() (mant int64, scale int32, ok bool) {
	if d.b != nil {
		return 0, 0, false
	}
	return d.m, d.scale, true
}

// FromParts returns mant × 10^-scale; a negative scale multiplies by a
// power of ten.
func FromParts(mant int64, scale int32) Dec {
	d := Dec{m: mant, scale: scale}
	if scale < 0 {
		return d.rescale(0).norm()
	}
	return d
}
