package expr

import (
	"math"
	"strings"
	"testing"

	"dstream/lib/frame"
)

type recCase struct {
	src   string
	rec   frame.Record
	want  string
	isErr bool
}

func unkeyed(v string) frame.Record { return frame.Record{Value: []byte(v)} }
func keyed(k, v string) frame.Record {
	return frame.Record{Key: []byte(k), Value: []byte(v), Keyed: true}
}

func TestRecordExpressions(t *testing.T) {
	tests := []recCase{
		{"value", unkeyed("abc"), "abc", false},
		{"key", keyed("k", "v"), "k", false},
		{"key == nil", unkeyed("v"), "true", false},
		{"key == nil", keyed("", "v"), "false", false},
		{"time", unkeyed("v"), "5000", false},
		{"int(value) * 2", unkeyed("21"), "42", false},
		{"float(value) / 4", unkeyed("10"), "2.5", false},
		{"num(value) + num(key)", keyed("2.49", "94.65"), "97.14", false},
		{"num(value) + 1", unkeyed("41"), "42", false},
		{"split(value, ',')", unkeyed("a,1,true"), `["a",1,true]`, false},
		{"split(value, ',')[1]", unkeyed("a,1,true"), "1", false},
		{"upper(value)", unkeyed("abc"), "ABC", false},
		{"len(value)", unkeyed("héllo"), "5", false},
		{"value.amount", unkeyed(`{"id":1,"amount":94.65}`), "94.65", false},
		{"value.amount * 2", unkeyed(`{"amount":20.0}`), "40", false},
		{"value.id + 1", unkeyed(`{"id":9007199254740993}`), "9007199254740994", false},
		{"value.name + '!'", unkeyed(`{"name":"a\"b\u00e9"}`), `a"bé!`, false},
		{"value[0] + value[1]", unkeyed(`[94.65, 2.49]`), "97.14", false},
		{"value", unkeyed(`{"b":[1,{"c":null}],"a":"x"}`), `{"a":"x","b":[1,{"c":null}]}`, false},
		{"sum(value)", unkeyed(`[1,2,3]`), "6", false},
		{"value", unkeyed("{not json"), "{not json", false},
		{"value == '[1,2'", unkeyed("[1,2"), "true", false},
		{"pair(value, 1)", unkeyed("w"), `["w",1]`, false},
		{"0.1 + 0.2", unkeyed(""), "0.3", false},
		{"1 / 3", unkeyed(""), "0.333333333333333", false},
		{"2.0", unkeyed(""), "2", false},
		{"1e21", unkeyed(""), "1e+21", false},
		{"1e20", unkeyed(""), "100000000000000000000", false},
		{"0.000001", unkeyed(""), "0.000001", false},
		{"0.0000001", unkeyed(""), "1e-7", false},
		{"-0.0", unkeyed(""), "0", false},
		{"text(2.50) + '/' + text(nil)", unkeyed(""), "2.5/null", false},
		{"value > 'b' ? 'big' : 'small'", unkeyed("c"), "big", false},
		{"{'a': 1, 'b': [value]}", unkeyed("x"), `{"a":1,"b":["x"]}`, false},
		{"int(value)", unkeyed("x"), "invalid operation: int(x)", true},
		{"num(value)", unkeyed("12abc"), `num("12abc"): not a number`, true},
		{"num(value)", unkeyed("NaN"), `num("NaN"): not a number`, true},
		{"1 % int(value)", unkeyed("0"), "runtime error: integer divide by zero (at column 3)", true},
		{"1 / int(value)", unkeyed("0"), "the result is +Inf, not a number (a float division by zero?)", true},
		{"value.missing", unkeyed(`{"a":1}`), "the result is nil, which has no text", true},
		{"value + 1", unkeyed("x"), "invalid operation: string + int", true},
	}
	for _, tt := range tests {
		p, err := CompileRecord(tt.src)
		if err != nil {
			t.Errorf("%s: %v", tt.src, err)
			continue
		}
		r := tt.rec
		v, err := p.RunRecord(&r, 5000)
		var got []byte
		if err == nil {
			got, err = AppendText(nil, v)
		}
		switch {
		case tt.isErr && err == nil:
			t.Errorf("%s on %q: got %q, want error %q", tt.src, r.Value, got, tt.want)
		case tt.isErr && !strings.HasPrefix(err.Error(), tt.want):
			t.Errorf("%s on %q: got error %q, want %q", tt.src, r.Value, err, tt.want)
		case !tt.isErr && err != nil:
			t.Errorf("%s on %q: error %v", tt.src, r.Value, err)
		case !tt.isErr && string(got) != tt.want:
			t.Errorf("%s on %q: got %q, want %q", tt.src, r.Value, got, tt.want)
		}
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct{ src, want string }{
		{"valu + 1", "unknown name valu (at column 1)"},
		{"value +", "unexpected token EOF (at column 7)"},
		{"num(1, 2)", "too many arguments to call num (at column 1)"},
	}
	for _, tt := range tests {
		_, err := CompileRecord(tt.src)
		if err == nil || err.Error() != tt.want {
			t.Errorf("%s: got %v, want %q", tt.src, err, tt.want)
		}
	}
}

func TestAppendFloat(t *testing.T) {
	tests := []struct {
		f    float64
		want string
	}{
		{94.65, "94.65"}, {94.65 + 2.49, "97.14"}, {20, "20"}, {-1.5, "-1.5"},
		{123456789012345678, "123456789012346000"}, {1e-6, "0.000001"},
		{5e-324, "5e-324"}, {math.MaxFloat64, "1.7976931348623157e+308"}, {1.5e-300, "1.5e-300"},
	}
	for _, tt := range tests {
		got, err := AppendFloat(nil, tt.f)
		if err != nil || string(got) != tt.want {
			t.Errorf("AppendFloat(%v) = %q, %v; want %q", tt.f, got, err, tt.want)
		}
	}
	for _, f := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		if _, err := AppendFloat(nil, f); err == nil {
			t.Errorf("AppendFloat(%v): no error", f)
		}
	}
}

// A result that keeps strings past the record (CopyStrings) is unchanged
// when the record's bytes are reused.
func TestCopyStrings(t *testing.T) {
	p := MustCompile("[value, split(value, ',')]", RecordVars...)
	r := unkeyed("a,b")
	v, err := p.RunRecord(&r, 0)
	if err != nil {
		t.Fatal(err)
	}
	v = CopyStrings(v)
	copy(r.Value, "x,y")
	got, _ := AppendText(nil, v)
	if string(got) != `["a,b",["a","b"]]` {
		t.Errorf("got %s", got)
	}
}

func TestRunRecordAfter(t *testing.T) {
	first, err := CompileRecord("value.account")
	if err != nil {
		t.Fatal(err)
	}
	second, err := CompileRecord("value.amount + 1")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{`{"account":"a-1","amount":94.65}`, `{"account":"b-2","amount":2}`} {
		r := &frame.Record{Value: []byte(v)}
		if _, err := first.RunRecord(r, 1000); err != nil {
			t.Fatal(err)
		}
		shared, err := second.RunRecordAfter(first, r, 1000)
		if err != nil {
			t.Fatal(err)
		}
		alone, err := second.RunRecord(r, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if shared != alone {
			t.Errorf("%s: RunRecordAfter gave %v, RunRecord %v", v, shared, alone)
		}
	}
	// A text value is not shared: the second program sees its own string.
	r := &frame.Record{Value: []byte("plain")}
	first.RunRecord(r, 1000)
	lenProg, _ := CompileRecord("len(value)")
	if got, err := lenProg.RunRecordAfter(first, r, 1000); err != nil || got != 5 {
		t.Errorf("text value: got %v, %v", got, err)
	}
}
