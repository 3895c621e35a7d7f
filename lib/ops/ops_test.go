package ops

import (
	"bytes"
	"context"
	"flag"
	"hash/fnv"
	"strings"
	"testing"

	"dstream/lib/frame"
	"dstream/lib/stage"

	"github.com/urfave/cli/v2"
)

// batch builds a batch from records written "value" or "key\tvalue", one
// partition per argument list.
func batch(t int64, parts ...[]string) *frame.Batch {
	b := &frame.Batch{Time: t, Interval: 1000}
	for _, p := range parts {
		var recs []frame.Record
		for _, s := range p {
			if k, v, ok := strings.Cut(s, "\t"); ok {
				recs = append(recs, frame.Record{Key: []byte(k), Value: []byte(v), Keyed: true})
			} else {
				recs = append(recs, frame.Record{Value: []byte(s)})
			}
		}
		b.Partitions = append(b.Partitions, frame.Partition{Records: recs})
	}
	return b
}

// newStage builds spec's stage from command-line arguments, as the runtime
// would, with stdout going to out.
func newStage(t testing.TB, spec *stage.Spec, out *bytes.Buffer, args ...string) any {
	t.Helper()
	set := flag.NewFlagSet(spec.Name, flag.ContinueOnError)
	for _, f := range spec.Flags {
		if err := f.Apply(set); err != nil {
			t.Fatal(err)
		}
	}
	if err := set.Parse(args); err != nil {
		t.Fatal(err)
	}
	c := &stage.Context{Context: cli.NewContext(cli.NewApp(), set, nil), Spec: spec, Stdout: out}
	st, err := spec.New(c)
	if err != nil {
		t.Fatalf("%s %v: %v", spec.Name, args, err)
	}
	return st
}

// collect is an Emitter that keeps copies of what it is given.
type collect []*frame.Batch

func (c *collect) Emit(b *frame.Batch) error { *c = append(*c, b.Clone()); return nil }

func TestPrintAsSpark(t *testing.T) {
	tests := []struct {
		name string
		args []string
		in   *frame.Batch
		want string
	}{
		{"empty batch", nil, batch(2000), "-------------------------------------------\nTime: 2000 ms\n-------------------------------------------\n\n"},
		{"keyed as tuples, partitions in order", nil, batch(1000, []string{"a\t1"}, []string{"b\t2", "plain"}),
			"-------------------------------------------\nTime: 1000 ms\n-------------------------------------------\n(a,1)\n(b,2)\nplain\n\n"},
		{"more than num", []string{"--num", "2"}, batch(3000, []string{"x", "y", "z"}),
			"-------------------------------------------\nTime: 3000 ms\n-------------------------------------------\nx\ny\n...\n\n"},
		{"exactly num", []string{"--num", "3"}, batch(3000, []string{"x", "y", "z"}),
			"-------------------------------------------\nTime: 3000 ms\n-------------------------------------------\nx\ny\nz\n\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			p := newStage(t, Print, &out, tt.args...).(stage.Operator)
			if err := p.Process(context.Background(), tt.in, nil); err != nil {
				t.Fatal(err)
			}
			if out.String() != tt.want {
				t.Errorf("got\n%q\nwant\n%q", out.String(), tt.want)
			}
		})
	}
}

func TestSinkFormats(t *testing.T) {
	in := batch(5000, []string{"k1\t94.65", "plain, \"quoted\"", "k\t[1,2]"}, []string{"\tempty key"})
	tests := []struct {
		args []string
		want string
	}{
		{nil, "k1\t94.65\nplain, \"quoted\"\nk\t[1,2]\n\tempty key\n"},
		{[]string{"--with-time"}, "5000\tk1\t94.65\n5000\tplain, \"quoted\"\n5000\tk\t[1,2]\n5000\t\tempty key\n"},
		{[]string{"--format", "jsonl"}, `{"time":5000,"key":"k1","value":94.65}` + "\n" +
			`{"time":5000,"key":null,"value":"plain, \"quoted\""}` + "\n" +
			`{"time":5000,"key":"k","value":[1,2]}` + "\n" +
			`{"time":5000,"key":"","value":"empty key"}` + "\n"},
		{[]string{"--format", "csv", "--with-time"}, "5000,k1,94.65\n5000,\"plain, \"\"quoted\"\"\"\n5000,k,\"[1,2]\"\n5000,,empty key\n"},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		s := newStage(t, Sink, &out, tt.args...).(stage.Operator)
		if err := s.Process(context.Background(), in, nil); err != nil {
			t.Fatal(err)
		}
		if out.String() != tt.want {
			t.Errorf("sink %v: got\n%s\nwant\n%s", tt.args, out.String(), tt.want)
		}
	}
}

func TestRepartition(t *testing.T) {
	in := batch(1000, []string{"a\t1", "b\t2", "a\t3"}, []string{"c\t4", "a\t5"})
	var out collect
	r := newStage(t, Repartition, nil, "2").(stage.Operator)
	if err := r.Process(context.Background(), in, &out); err != nil {
		t.Fatal(err)
	}
	got := partitionsOf(out[0])
	if want := "[a=1 a=3 a=5] [b=2 c=4]"; got != want {
		t.Errorf("round-robin: got %s, want %s", got, want)
	}
	out = nil
	r = newStage(t, Repartition, nil, "--by", "key", "3").(stage.Operator)
	if err := r.Process(context.Background(), in, &out); err != nil {
		t.Fatal(err)
	}
	for _, p := range out[0].Partitions {
		for _, rec := range p.Records {
			if string(rec.Key) == "a" && len(p.Records) < 3 {
				t.Errorf("by key: the three a records are not in one partition: %s", partitionsOf(out[0]))
			}
		}
	}
	err := r.Process(context.Background(), batch(2000, []string{"unkeyed"}), &out)
	if err == nil || !strings.Contains(err.Error(), "has no key") {
		t.Errorf("unkeyed record with --by key: got %v", err)
	}
}

func partitionsOf(b *frame.Batch) string {
	var parts []string
	for _, p := range b.Partitions {
		var recs []string
		for _, r := range p.Records {
			recs = append(recs, string(r.Key)+"="+string(r.Value))
		}
		parts = append(parts, "["+strings.Join(recs, " ")+"]")
	}
	return strings.Join(parts, " ")
}

func TestFNV1a(t *testing.T) {
	for _, s := range []string{"", "a", "123-ABC-789", "a longer key with spaces"} {
		h := fnv.New32a()
		h.Write([]byte(s))
		if got, want := fnv1a([]byte(s)), h.Sum32(); got != want {
			t.Errorf("fnv1a(%q) = %d, want %d", s, got, want)
		}
	}
}
