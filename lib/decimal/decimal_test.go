package decimal

import (
	"fmt"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestParseAppend(t *testing.T) {
	tests := []struct{ in, want string }{
		{"0", "0"}, {"-0", "0"}, {"-0.000", "0"}, {"+7", "7"}, {"007", "7"},
		{"1.50", "1.5"}, {"10.00", "10"}, {".5", "0.5"}, {"-.5", "-0.5"}, {"7.", "7"},
		{"0.001", "0.001"}, {"-12.340", "-12.34"},
		{"1e3", "1000"}, {"2.5E-2", "0.025"}, {"-1.5e+1", "-15"}, {"1e-3", "0.001"},
		{"9223372036854775807", "9223372036854775807"},
		{"-9223372036854775808", "-9223372036854775808"},
		{"123456789012345678901234567890.5", "123456789012345678901234567890.5"},
		{"1.000000000000000000000000000", "1"},
		{"1e30", "1000000000000000000000000000000"},
		{"0.0000000000000000000000000001", "0.0000000000000000000000000001"},
	}
	for _, tt := range tests {
		d, err := ParseString(tt.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if got := d.String(); got != tt.want {
			t.Errorf("Parse(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, in := range []string{"", "-", "+", ".", "-.", "1.2.3", "abc", "1a", " 1", "1 ", "1e", "1e+", "e3", "1,5", "0x10", "NaN", "Inf", "1_000", "--1"} {
		_, err := ParseString(in)
		want := fmt.Sprintf("%q is not a decimal number", in)
		if err == nil || err.Error() != want {
			t.Errorf("Parse(%q): got %v, want %s", in, err, want)
		}
	}
	for in, want := range map[string]string{
		"1e1001":    `"1e1001" is out of range (exponent beyond ±1000)`,
		"1e-999999": `"1e-999999" is out of range (exponent beyond ±1000)`,
		"0.1e-1000": `"0.1e-1000" is out of range (scale beyond ±1000)`,
	} {
		if _, err := ParseString(in); err == nil || err.Error() != want {
			t.Errorf("Parse(%q): got %v, want %s", in, err, want)
		}
	}
	long := strings.Repeat("x", 100)
	if _, err := ParseString(long); err == nil || !strings.Contains(err.Error(), `xxx..." is not`) {
		t.Errorf("long text: got %v, want it shortened", err)
	}
}

func TestAdd(t *testing.T) {
	tests := []struct{ a, b, want string }{
		{"94.65", "2.49", "97.14"},
		{"10.5", "9.5", "20"},
		{"0.1", "0.2", "0.3"},
		{"-1.25", "1.25", "0"},
		{"1", "-0.001", "0.999"},
		{"9223372036854775807", "1", "9223372036854775808"},
		{"-9223372036854775807", "-2", "-9223372036854775809"},
		{"9223372036854775808", "-1", "9223372036854775807"},
		{"92233720368547758.07", "0.1", "92233720368547758.17"},
		{"1e18", "0.5", "1000000000000000000.5"},
		{"123456789012345678901234567890", "-123456789012345678901234567889.99", "0.01"},
	}
	for _, tt := range tests {
		got, err := AddText(nil, []byte(tt.a), []byte(tt.b))
		if err != nil || string(got) != tt.want {
			t.Errorf("%s + %s = %s, %v; want %s", tt.a, tt.b, got, err, tt.want)
		}
		got, _ = AddText(nil, []byte(tt.b), []byte(tt.a))
		if string(got) != tt.want {
			t.Errorf("%s + %s = %s; want %s", tt.b, tt.a, got, tt.want)
		}
	}
	if _, err := AddText(nil, []byte("1"), []byte("x")); err == nil || err.Error() != `"x" is not a decimal number` {
		t.Errorf("1 + x: %v", err)
	}
}

func TestCmpMinMax(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"1", "1.0", 0}, {"1.5", "1.49", 1}, {"-2", "-1", -1}, {"0", "-0", 0},
		{"1e30", "999999999999999999999999999999", 1},
		{"-1e30", "1", -1}, {"0.1", "0.10000000000000000000001", -1},
	}
	for _, tt := range tests {
		if got, err := Compare([]byte(tt.a), []byte(tt.b)); err != nil || got != tt.want {
			t.Errorf("Compare(%s, %s) = %d, %v; want %d", tt.a, tt.b, got, err, tt.want)
		}
		if got, _ := Compare([]byte(tt.b), []byte(tt.a)); got != -tt.want {
			t.Errorf("Compare(%s, %s) = %d; want %d", tt.b, tt.a, got, -tt.want)
		}
	}
	a, _ := ParseString("1.50")
	b, _ := ParseString("1.5")
	c, _ := ParseString("-3")
	if Min(a, b) != a || Max(a, b) != a || Min(a, c) != c || Max(c, a) != a {
		t.Error("Min/Max: want the first of equals, else the smaller/larger")
	}
}

// TestSumAgainstBig adds random decimals, many near int64's limits, and
// checks every partial sum against math/big.Rat.
func TestSumAgainstBig(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var s Sum
	want := new(big.Rat)
	for i := range 20000 {
		var txt string
		switch r.IntN(4) {
		case 0:
			txt = fmt.Sprintf("%d.%02d", r.Int64N(100000), r.IntN(100))
		case 1:
			txt = fmt.Sprintf("-%d", r.Int64())
		case 2:
			txt = fmt.Sprintf("%d", r.Int64())
		default:
			txt = fmt.Sprintf("%de-%d", r.Int64N(1e6), r.IntN(25))
		}
		if err := s.Add([]byte(txt)); err != nil {
			t.Fatal(err)
		}
		x, _ := new(big.Rat).SetString(txt)
		want.Add(want, x)
		if i%97 == 0 || i == 19999 {
			got, _ := new(big.Rat).SetString(s.Dec().String())
			if got.Cmp(want) != 0 {
				t.Fatalf("after %d: sum %s, want %s", i, s.Dec(), want.FloatString(30))
			}
		}
	}
}

func TestSumNoAlloc(t *testing.T) {
	vals := [][]byte{[]byte("94.65"), []byte("2.49"), []byte("-10"), []byte("1073.12")}
	var s Sum
	n := testing.AllocsPerRun(1000, func() {
		for _, v := range vals {
			if err := s.Add(v); err != nil {
				t.Fatal(err)
			}
		}
	})
	if n != 0 {
		t.Errorf("Sum.Add allocates %.1f times per run, want 0", n)
	}
	var buf [64]byte
	if n := testing.AllocsPerRun(100, func() { _ = s.Dec().Append(buf[:0]) }); n != 0 {
		t.Errorf("Append allocates %.1f times, want 0", n)
	}
}

func BenchmarkSumAdd(b *testing.B) {
	vals := [][]byte{[]byte("94.65"), []byte("2.49"), []byte("306.21"), []byte("1073.12"), []byte("10.34")}
	var s Sum
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		_ = s.Add(vals[i%len(vals)])
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"1", "-1.5", "1e3", "9223372036854775808", ".5", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseString(s)
		if err != nil {
			return
		}
		// The canonical text parses back to the same number and is stable.
		txt := d.String()
		e, err := ParseString(txt)
		if err != nil || e.Cmp(d) != 0 || e.String() != txt {
			t.Fatalf("%q -> %q -> %v, %v", s, txt, e, err)
		}
		want, ok := new(big.Rat).SetString(s)
		if ok {
			got, _ := new(big.Rat).SetString(txt)
			if got.Cmp(want) != 0 {
				t.Fatalf("%q -> %q, want %s", s, txt, want.RatString())
			}
		}
	})
}

func TestSubNeg(t *testing.T) {
	tests := []struct{ a, b, want string }{
		{"97.14", "2.49", "94.65"}, {"1", "1", "0"}, {"0", "0.5", "-0.5"},
		{"10.5", "0.5", "10"}, {"-3", "-3.25", "0.25"},
		{"-9223372036854775808", "1", "-9223372036854775809"},
		{"9223372036854775807", "-1", "9223372036854775808"},
		{"123456789012345678901234567890.5", "123456789012345678901234567890", "0.5"},
	}
	for _, tt := range tests {
		a, _ := ParseString(tt.a)
		b, _ := ParseString(tt.b)
		if got := a.Sub(b).String(); got != tt.want {
			t.Errorf("%s - %s = %s, want %s", tt.a, tt.b, got, tt.want)
		}
		// Sub undoes Add, whatever the order of the terms.
		if got := a.Add(b).Sub(b); got.Cmp(a) != 0 {
			t.Errorf("%s + %s - %s = %s, want %s", tt.a, tt.b, tt.b, got, tt.a)
		}
	}
	min, _ := ParseString("-9223372036854775808")
	if got := min.Neg().String(); got != "9223372036854775808" {
		t.Errorf("-(MinInt64) = %s", got)
	}
	if got := min.Neg().Neg().String(); got != "-9223372036854775808" {
		t.Errorf("-(-(MinInt64)) = %s", got)
	}
}

func TestSubNoAlloc(t *testing.T) {
	a, _ := ParseString("1234.56")
	b, _ := ParseString("7.5")
	if n := testing.AllocsPerRun(100, func() { a = a.Add(b).Sub(b) }); n != 0 {
		t.Errorf("Add then Sub allocate %v times", n)
	}
}

func TestParts(t *testing.T) {
	for _, s := range []string{"0", "12.34", "-0.001", "9223372036854775807", "1e3"} {
		d, _ := ParseString(s)
		m, sc, ok := d.Parts()
		if !ok {
			t.Errorf("%s: Parts not ok", s)
			continue
		}
		if got := FromParts(m, sc); got.Cmp(d) != 0 || got.String() != d.String() {
			t.Errorf("FromParts(Parts(%s)) = %s", s, got)
		}
	}
	big, _ := ParseString("123456789012345678901234567890")
	if _, _, ok := big.Parts(); ok {
		t.Errorf("Parts of a big mantissa: ok")
	}
	if got := FromParts(15, -2).String(); got != "1500" {
		t.Errorf("FromParts(15, -2) = %s, want 1500", got)
	}
}
