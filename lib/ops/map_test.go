package ops

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"dstream/lib/frame"
	"dstream/lib/stage"
)

// text renders batches as sink --with-time does, with "|" between
// partitions and "+" after a chunk with More.
func renderBatches(bs []*frame.Batch) string {
	var b strings.Builder
	for _, bt := range bs {
		for pi, p := range bt.Partitions {
			if pi > 0 {
				b.WriteString("|\n")
			}
			for _, r := range p.Records {
				if r.Keyed {
					b.WriteString(string(r.Key) + "\t")
				}
				b.WriteString(string(r.Value) + "\n")
			}
		}
		if bt.More {
			b.WriteString("+\n")
		}
		b.WriteString("--\n")
	}
	return b.String()
}

type exprCase struct {
	name string
	args []string
	in   []*frame.Batch
	want string // rendered output, or the error
	err  bool
}

func runExprCases(t *testing.T, spec *stage.Spec, tests []exprCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out collect
			op := newStage(t, spec, nil, tt.args...).(stage.Operator)
			var err error
			for _, b := range tt.in {
				if err = op.Process(context.Background(), b, &out); err != nil {
					break
				}
			}
			if c, ok := op.(stage.Closer); ok {
				c.Close()
			}
			switch {
			case tt.err && err == nil:
				t.Fatalf("no error; output\n%s", renderBatches(out))
			case tt.err && err.Error() != tt.want:
				t.Fatalf("error\n%s\nwant\n%s", err, tt.want)
			case !tt.err && err != nil:
				t.Fatal(err)
			case !tt.err && renderBatches(out) != tt.want:
				t.Fatalf("got\n%s\nwant\n%s", renderBatches(out), tt.want)
			}
		})
	}
}

func TestMap(t *testing.T) {
	more := batch(1000, []string{"1", "2"})
	more.More = true
	runExprCases(t, Map, []exprCase{
		{"values, partitions kept", []string{"int(value) * 10"},
			[]*frame.Batch{batch(1000, []string{"1", "2"}, []string{"3"}), batch(2000)},
			"10\n20\n|\n30\n--\n--\n", false},
		{"key dropped", []string{"upper(value)"},
			[]*frame.Batch{batch(1000, []string{"k\tv", "w"})}, "V\nW\n--\n", false},
		{"--keep-key", []string{"--keep-key", "upper(value)"},
			[]*frame.Batch{batch(1000, []string{"k\tv", "w"})}, "k\tV\nW\n--\n", false},
		{"pair makes a keyed record", []string{"pair(value, len(value))"},
			[]*frame.Batch{batch(1000, []string{"k\tab"})}, "ab\t2\n--\n", false},
		{"chunks keep More", []string{"value + '!'"},
			[]*frame.Batch{more, batch(1000, []string{"3"})}, "1!\n2!\n+\n--\n3!\n--\n", false},
		{"record counted across chunks", []string{"int(value)"},
			[]*frame.Batch{more, batch(1000, []string{"x"})},
			`batch 1000, record 2 ("x"): int(value): invalid operation: int(x) (at column 1)`, true},
		{"nil", []string{"value.b"}, []*frame.Batch{batch(1000, []string{"k\t{\"a\":1}"})},
			`batch 1000, record 0 ("k\t{\"a\":1}"): value.b: the result is nil, which has no text`, true},
	})
}

func TestMapUnparsable(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.jsonl")
	runExprCases(t, Map, []exprCase{
		{"failures to the side file", []string{"--unparsable", bad, "10 / num(value)"},
			[]*frame.Batch{batch(1000, []string{"4", "0", "k\tx", "8"})}, "2.5\n1.25\n--\n", false},
	})
	got, err := os.ReadFile(bad)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"time":1000,"key":null,"value":0,"error":"10 / num(value): the result is +Inf, not a number (a float division by zero?)"}` + "\n" +
		`{"time":1000,"key":"k","value":"x","error":"10 / num(value): num(\"x\"): not a number (at column 6)"}` + "\n"
	if string(got) != want {
		t.Errorf("side file\n%s\nwant\n%s", got, want)
	}
}

func TestShowRecordTruncates(t *testing.T) {
	r := frame.Record{Value: []byte(strings.Repeat("é", 150))}
	got := showRecord(&r)
	if want := `"` + strings.Repeat("é", 100) + `"...`; got != want {
		t.Errorf("got %s", got)
	}
}
