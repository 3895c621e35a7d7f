package text

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"testing"
	"unicode/utf8"

	"dstream/lib/frame"
)

func TestAppendTSV(t *testing.T) {
	for _, tc := range []struct {
		rec      frame.Record
		withTime bool
		want     string
	}{
		{frame.Record{Value: []byte("v")}, false, "v\n"},
		{frame.Record{Value: []byte("v")}, true, "1764000000000\tv\n"},
		{frame.Record{Key: []byte("k"), Value: []byte("v"), Keyed: true}, false, "k\tv\n"},
		{frame.Record{Key: []byte("k"), Value: []byte("v"), Keyed: true}, true, "1764000000000\tk\tv\n"},
		{frame.Record{Key: []byte(""), Value: []byte("v"), Keyed: true}, false, "\tv\n"},
		{frame.Record{Key: []byte("ignored"), Value: []byte(""), Keyed: false}, false, "\n"},
		{frame.Record{Value: []byte("v")}, true, "1764000000000\tv\n"},
	} {
		got := AppendTSV([]byte(">"), &tc.rec, tc.withTime, 1764000000000)
		if string(got) != ">"+tc.want {
			t.Errorf("AppendTSV(%+v, %v) = %q, want %q", tc.rec, tc.withTime, got, ">"+tc.want)
		}
	}
	if got := AppendTSV(nil, &frame.Record{Value: []byte("x")}, true, -5); string(got) != "-5\tx\n" {
		t.Errorf("negative time: %q", got)
	}
}

func TestAppendJSONLine(t *testing.T) {
	for _, tc := range []struct {
		rec  frame.Record
		want string
	}{
		{frame.Record{Value: []byte("hello")}, `{"time":2000,"key":null,"value":"hello"}`},
		{frame.Record{Value: []byte("94.65")}, `{"time":2000,"key":null,"value":94.65}`},
		{frame.Record{Key: []byte("456-DEF-456"), Value: []byte("97.14"), Keyed: true}, `{"time":2000,"key":"456-DEF-456","value":97.14}`},
		{frame.Record{Key: []byte("17"), Value: []byte(`[1,"a"]`), Keyed: true}, `{"time":2000,"key":17,"value":[1,"a"]}`},
		{frame.Record{Key: []byte(""), Value: []byte(""), Keyed: true}, `{"time":2000,"key":"","value":""}`},
		{frame.Record{Value: []byte(`{"a":null}`)}, `{"time":2000,"key":null,"value":{"a":null}}`},
		{frame.Record{Value: []byte("say \"hi\"\n")}, `{"time":2000,"key":null,"value":"say \"hi\"\n"}`},
	} {
		got := AppendJSONLine(nil, &tc.rec, 2000)
		if string(got) != tc.want+"\n" {
			t.Errorf("AppendJSONLine(%+v) = %q, want %q", tc.rec, got, tc.want+"\n")
		}
		if !json.Valid(bytes.TrimSpace(got)) {
			t.Errorf("%q is not valid JSON", got)
		}
	}
}

func TestIsJSON(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		// Numbers.
		{"0", true}, {"17", true}, {"-3", true}, {"94.65", true}, {"1e10", true}, {"-1.5E-3", true}, {"-0", true},
		{"01", false}, {"1.", false}, {".5", false}, {"+1", false}, {"-", false}, {"1e", false}, {"0x10", false},
		{"NaN", false}, {"Infinity", false}, {"1,5", false}, {"1 2", false},
		// Arrays and objects.
		{"[]", true}, {"[1,2]", true}, {`[1, "a", null]`, true}, {"{}", true}, {`{"a":1}`, true}, {`{"a": [true, {}]}`, true},
		{"[", false}, {"[1,]", false}, {"{a:1}", false}, {`{"a"}`, false}, {"[1]]", false}, {`{"a":1}x`, false},
		// Literals.
		{"true", true}, {"false", true}, {"null", true},
		{"True", false}, {"nul", false}, {"nulls", false}, {"truex", false}, {"f", false},
		// Strings are text, not JSON to embed.
		{`"a"`, false}, {`""`, false},
		// Whitespace around is not embedded as is; inside is fine.
		{" 1", false}, {"1 ", false}, {"1\n", false}, {"\t[1]", false}, {"[1]\r", false}, {"[ 1 ]", true}, {"{ }", true},
		// Anything else.
		{"", false}, {"hello", false}, {"Grocery Store", false}, {"11/25/2026", false}, {"456-DEF-456", false},
	} {
		if got := IsJSON([]byte(tc.in)); got != tc.want {
			t.Errorf("IsJSON(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestAppendJSON(t *testing.T) {
	for in, want := range map[string]string{
		"42":     "42",
		"[1,2]":  "[1,2]",
		"null":   "null",
		"hello":  `"hello"`,
		" 42":    `" 42"`,
		`"q"`:    `"\"q\""`,
		"":       `""`,
		"{bad}":  `"{bad}"`,
		"truely": `"truely"`,
	} {
		if got := AppendJSON(nil, []byte(in)); string(got) != want {
			t.Errorf("AppendJSON(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestAppendJSONString(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", `""`},
		{"plain", `"plain"`},
		{`a"b\c`, `"a\"b\\c"`},
		{"\n\r\t", `"\n\r\t"`},
		{"\x00\x01\x1f\x7f", `"\u0000\u0001\u001f` + "\x7f" + `"`},
		{"\b\f", `"\u0008\u000c"`},
		{"héllo, 世界 🎉", `"héllo, 世界 🎉"`},
		{"\xff", `"\ufffd"`},
		{"a\xffb\xfe", `"a\ufffdb\ufffd"`},
		{"\xe2\x82", `"\ufffd\ufffd"`},           // truncated 3-byte sequence
		{"\xed\xa0\x80", `"\ufffd\ufffd\ufffd"`}, // a UTF-16 surrogate in UTF-8
		{"\xc0\xaf", `"\ufffd\ufffd"`},           // overlong '/'
		{"<&>", `"<&>"`},
	} {
		if got := AppendJSONString([]byte("x"), []byte(tc.in)); string(got) != "x"+tc.want {
			t.Errorf("AppendJSONString(%q) = %s, want %s", tc.in, got[1:], tc.want)
		}
	}
}

// TestAppendJSONStringLikeEncodingJSON checks that every string decodes as
// encoding/json's encoding of it decodes: same escapes, same treatment of
// invalid UTF-8.
func TestAppendJSONStringLikeEncodingJSON(t *testing.T) {
	var inputs [][]byte
	for c := range 256 {
		inputs = append(inputs, []byte{byte(c)}, []byte{'a', byte(c), 'b'})
	}
	rng := rand.New(rand.NewPCG(7, 11))
	alphabet := []byte("ab\"\\\n\t\x00\x1f\x7f\xc3\xa9\xe4\xb8\x96\xf0\x9f\x8e\x89\xff\xfe\x80\xe2\x80\xa8<>&")
	for range 5000 {
		b := make([]byte, rng.IntN(12))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		inputs = append(inputs, b)
	}
	for _, in := range inputs {
		got := AppendJSONString(nil, in)
		ref, err := json.Marshal(string(in))
		if err != nil {
			t.Fatal(err)
		}
		var gs, rs string
		if err := json.Unmarshal(got, &gs); err != nil {
			t.Fatalf("AppendJSONString(%q) = %s: %v", in, got, err)
		}
		json.Unmarshal(ref, &rs)
		if gs != rs {
			t.Fatalf("AppendJSONString(%q) = %s decodes to %q; encoding/json gives %s, %q", in, got, gs, ref, rs)
		}
	}
}

func TestAppendNoAlloc(t *testing.T) {
	rec := frame.Record{Key: []byte("456-DEF-456"), Value: []byte("17,11/25/2026,456-DEF-456,94.65,Grocery \"Store\"\n"), Keyed: true}
	buf := make([]byte, 0, 1024)
	allocs := testing.AllocsPerRun(100, func() {
		buf = AppendTSV(buf[:0], &rec, true, 2000)
		buf = AppendJSONLine(buf[:0], &rec, 2000)
	})
	if allocs != 0 {
		t.Errorf("%.0f allocations per record", allocs)
	}
}

// isJSONRef is IsJSON by encoding/json: what Valid accepts, starting as a
// non-string value, with no whitespace around, in valid UTF-8.
func isJSONRef(b []byte) bool {
	if len(b) == 0 || bytes.IndexByte([]byte("-0123456789[{tfn"), b[0]) < 0 {
		return false
	}
	if len(bytes.TrimRight(b, " \t\r\n")) != len(b) {
		return false
	}
	return json.Valid(b) && utf8.Valid(b)
}

func TestIsJSONLikeEncodingJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	tokens := []string{"[", "]", "{", "}", ",", ":", " ", "\n", `"a"`, `"\u00e9"`, `"\x"`, `"é"`, "\"\xff\"", "\"\x01\"", `\`,
		"0", "1", "-", ".", "e", "E", "+", "12", "true", "false", "null", "nul", `"`, "x"}
	for range 100000 {
		var b []byte
		for range 1 + rng.IntN(8) {
			b = append(b, tokens[rng.IntN(len(tokens))]...)
		}
		if got, want := IsJSON(b), isJSONRef(b); got != want {
			t.Fatalf("IsJSON(%q) = %v, encoding/json says %v", b, got, want)
		}
	}
	deep := bytes.Repeat([]byte("["), 10001)
	deep = append(deep, bytes.Repeat([]byte("]"), 10001)...)
	if IsJSON(deep) || IsJSON(deep[1:len(deep)-1]) != json.Valid(deep[1:len(deep)-1]) {
		t.Errorf("nesting limit differs from encoding/json")
	}
}

func FuzzIsJSON(f *testing.F) {
	for _, s := range []string{"1", "-0.5e3", "[1,{\"a\":[true,false,null]}]", "{}", "\"s\"", "[\"\\u12\"]", "01", "[1 ]", "tru", "[\"\xff\"]"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := IsJSON(b), isJSONRef(b); got != want {
			t.Fatalf("IsJSON(%q) = %v, encoding/json says %v", b, got, want)
		}
		// Whatever is embedded or quoted makes valid JSON.
		if out := AppendJSON(nil, b); !json.Valid(out) || !utf8.Valid(out) {
			t.Fatalf("AppendJSON(%q) = %q is not valid JSON", b, out)
		}
	})
}
