package expr

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"dstream/lib/frame"
)

var fastExprs = []string{
	`value`, `key`,
	`split(value, ",")[0]`, `split(value, ",")[2]`, `split(value, ",")[4]`,
	`split(value, ", ")[1]`, `split(key, "-")[1]`,
	`value.a`, `value["a"]`, `value.a.b`, `value["n"]`, `value.s`,
	`key + ":" + value`, `"<" + split(value, ",")[1] + ">"`, `value.s + "/" + key`,
	`num(value) * 2`, `num(split(value, ",")[0]) + 0.5`, `-num(key) % 3`, `num(value) / 4`,
	`(num(value) - 1) * num(key) - 7`, `num(split(key, "-")[1]) * 1.5`,
}

// checkFast fails unless the fast path, where it answers, gives what
// running the expression gives. It returns whether it answered.
func checkFast(t *testing.T, p *Program, r *frame.Record) bool {
	t.Helper()
	fast, _, ok := p.FastText([]byte("junk"), r)
	if !ok {
		return false
	}
	v, err := p.RunRecord(r, 1000)
	if err != nil {
		t.Fatalf("%s on %q/%q: fast path gave %q, the expression fails: %v", p.Source(), r.Key, r.Value, fast, err)
	}
	want, err := AppendText(nil, v)
	if err != nil {
		t.Fatalf("%s on %q/%q: fast path gave %q, the result has no text: %v", p.Source(), r.Key, r.Value, fast, err)
	}
	if string(fast) != string(want) {
		t.Fatalf("%s on key %q value %q: fast path %q, expression %q", p.Source(), r.Key, r.Value, fast, want)
	}
	return true
}

func rec(key, value string, keyed bool) *frame.Record {
	return &frame.Record{Key: []byte(key), Value: []byte(value), Keyed: keyed}
}

func TestFastTextAnswers(t *testing.T) {
	tests := []struct {
		expr, key, value string
		keyed            bool
		want             string // "" with answered false: declines
		answered         bool
	}{
		{`value`, "", "plain text", false, "plain text", true},
		{`value`, "", `{"a":1}`, false, "", false}, // re-encoded by AppendText
		{`key`, "k", "v", true, "k", true},
		{`key`, "", "v", false, "", false}, // nil: an error
		{`split(value, ",")[2]`, "", "1,2,3,4", false, "3", true},
		{`split(value, ",")[3]`, "", "1,2,3,4", false, "4", true},
		{`split(value, ",")[4]`, "", "1,2,3,4", false, "", false}, // out of range
		{`split(value, ", ")[1]`, "", "a, b, c", false, "b", true},
		{`split(key, "-")[1]`, "x-y-z", "v", true, "y", true},
		{`value.a`, "", `{"a":"text","b":2}`, false, "text", true},
		{`value.a`, "", `{"a":"t\"x"}`, false, "", false}, // escapes
		{`value.a`, "", `{"a":12.50}`, false, "12.5", true},
		{`value.a`, "", `{"a":12.00}`, false, "12", true},
		{`value.a`, "", `{"a":-0.5}`, false, "-0.5", true},
		{`value.a`, "", `{"a":-0}`, false, "", false},
		{`value.a`, "", `{"a":1e3}`, false, "", false},
		{`value.a`, "", `{"a":0.0000001}`, false, "", false},
		{`value.a`, "", `{"a":1234567890123456.5}`, false, "", false},
		{`value.a`, "", `{"a":123456789012345678}`, false, "123456789012345678", true},
		{`value.a`, "", `{"a":1,"a":2}`, false, "2", true},
		{`value.a`, "", `{"a":null}`, false, "", false},
		{`value.a`, "", `{"a":[1,2]}`, false, "", false},
		{`value.a`, "", `{"b":1}`, false, "", false},
		{`value.a`, "", `{"a":1`, false, "", false},                                              // not JSON: a string
		{`value["a"].b`, "", ` { "x" : [1,{"b":3}] , "a" : { "b" : true } } `, false, "", false}, // starts with a space: text
		{`value["a"].b`, "", `{ "x" : [1,{"b":3}] , "a" : { "b" : true } }`, false, "true", true},
		{`value.a.b`, "", `{"a":"s"}`, false, "", false},
		{`int(value) + 1`, "", "1", false, "", false}, // no fast shape
		{`split(value, ",")[-1]`, "", "1,2", false, "", false},
		{`key + ":" + value`, "k", "v", true, "k:v", true},
		{`key + ":" + value`, "", "v", false, "", false}, // nil + string
		{`value.a + "!"`, "", `{"a":"x"}`, false, "x!", true},
		{`value.a + "!"`, "", `{"a":1}`, false, "", false}, // int + string
		{`"a" + "b"`, "", "v", false, "", false},
		{`value + 1`, "", "v", false, "", false},
		{`num(value) * 2`, "", "12.5", false, "25", true},
		{`num(value) * 2`, "", " 21 ", false, "42", true},
		{`num(value) * 2`, "", "x", false, "", false},
		{`num(value) / 4`, "", "10", false, "2.5", true},
		{`num(value) % 3`, "", "10", false, "1", true},
		{`num(value) % 3`, "", "10.5", false, "", false},
		{`num(value) / 0`, "", "1", false, "", false},
		{`-num(key) + 1`, "3", "v", true, "-2", true},
		{`num(value.a) * 2`, "", `{"a":1}`, false, "", false},
		{`1 + 2`, "", "v", false, "", false},
	}
	for _, tt := range tests {
		p, err := CompileRecord(tt.expr)
		if err != nil {
			t.Fatal(err)
		}
		r := rec(tt.key, tt.value, tt.keyed)
		got, _, ok := p.FastText(nil, r)
		if ok != tt.answered || string(got) != tt.want {
			t.Errorf("%s on %q: FastText = %q, %v; want %q, %v", tt.expr, tt.value, got, ok, tt.want, tt.answered)
		}
		checkFast(t, p, r)
	}
}

// TestFastTextAgrees runs every fast shape on generated records and
// compares with the expression's own result.
func TestFastTextAgrees(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	pick := func(s ...string) string { return s[rng.IntN(len(s))] }
	number := func() string {
		var b strings.Builder
		b.WriteString(pick("", "", "-"))
		b.WriteString(pick("0", "1", "12", "100", "123456789012345", "1234567890123456789", "9"))
		if rng.IntN(2) == 0 {
			b.WriteString("." + pick("0", "5", "50", "000001", "0000001", "25", "123456789", "1234567890123456"))
		}
		if rng.IntN(8) == 0 {
			b.WriteString(pick("e3", "E-2", "e+10"))
		}
		return b.String()
	}
	scalar := func() string {
		switch rng.IntN(5) {
		case 0:
			return number()
		case 1:
			return pick(`"plain"`, `""`, `"with \"escape\""`, `"uni\u00e9"`, `"a,b"`)
		case 2:
			return pick("true", "false", "null")
		case 3:
			return pick(`[1,"a"]`, `{"b":`+number()+`}`, `{"b":{"c":1}}`, `[]`, `{}`)
		}
		return number()
	}
	object := func() string {
		var parts []string
		for range rng.IntN(4) + 1 {
			name := pick("a", "b", "n", "s", `a\u0062`, "x")
			parts = append(parts, fmt.Sprintf(`%s"%s"%s:%s%s`, pick("", " "), name, pick("", " "), pick("", "\n"), scalar()))
		}
		return "{" + strings.Join(parts, ",") + pick("", " ") + "}"
	}
	line := func() string {
		var parts []string
		for range rng.IntN(6) {
			parts = append(parts, pick("x", "", "12.5", " y", "a b", "7", "-3", number()))
		}
		return strings.Join(parts, pick(",", ", ", ";"))
	}
	answered := map[string]int{}
	for _, src := range fastExprs {
		p := MustCompile(src, RecordVars...)
		p.fast = compileFast(src)
		if p.fast == nil {
			t.Fatalf("%s: no fast path", src)
		}
		for range 20000 {
			var value string
			switch rng.IntN(3) {
			case 0:
				value = object()
			case 1:
				value = line()
			default:
				value = scalar()
			}
			keyed := rng.IntN(4) != 0
			if checkFast(t, p, rec(pick("a-b", "a-b-c", "ab", "", "12", "-4", "9223372036854775807", "2.5"), value, keyed)) {
				answered[src]++
			}
		}
		if answered[src] < 20 {
			t.Errorf("%s: the fast path answered only %d of 20000 records: the comparison tested too little", src, answered[src])
		}
	}
}

func FuzzFastText(f *testing.F) {
	f.Add("k-x", `{"a":{"b":1.50},"n":-2,"s":"t"}`)
	f.Add("", "1,2,3, 4,5")
	progs := make([]*Program, len(fastExprs))
	for i, src := range fastExprs {
		progs[i] = MustCompile(src, RecordVars...)
		progs[i].fast = compileFast(src)
	}
	f.Fuzz(func(t *testing.T, key, value string) {
		for _, p := range progs {
			checkFast(t, p, rec(key, value, key != ""))
		}
	})
}

func TestNthByte(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 20000 {
		b := make([]byte, rng.IntN(40))
		for i := range b {
			b[i] = "a,\x80\xff,"[rng.IntN(5)]
		}
		c := ",\x80\xff"[rng.IntN(3)]
		for n := range 8 {
			want, seen := -1, 0
			for i := range b {
				if b[i] == c {
					if seen == n {
						want = i
						break
					}
					seen++
				}
			}
			if got := nthByte(b, c, n); got != want {
				t.Fatalf("nthByte(%q, %q, %d) = %d, want %d", b, c, n, got, want)
			}
		}
	}
}
