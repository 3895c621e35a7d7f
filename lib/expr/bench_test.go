package expr_test

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"testing"

	"dstream/lib/expr"
	"dstream/lib/frame"
	"dstream/lib/ops"
	"dstream/lib/stage"

	"github.com/urfave/cli/v2"
)

// The expression benchmarks. Run on one core:
//
//	go test -run - -bench . -cpu 1 ./lib/expr
//
// BenchmarkRecord is one evaluation and the result's text, as a per-record
// stage does; BenchmarkStage is the map and filter stages over batches of
// 4096 records (frame decoding and encoding not included). Mrec/s is
// millions of records a second.

var exprs = []struct{ name, src string }{
	{"filter-int", "int(value) % 2 == 0"},
	{"filter-contains", "value contains '7'"},
	{"map-upper", "upper(value)"},
	{"map-num", "num(value) * 2"},
	{"map-keyed-concat", "key + ':' + value"},
	{"map-int-vm", "int(value) * 2"}, // int() has no fast path: expr's VM
}

func records(n int) []frame.Record {
	recs := make([]frame.Record, n)
	for i := range recs {
		recs[i] = frame.Record{Key: []byte("k" + strconv.Itoa(i%7)), Value: []byte(strconv.Itoa(i * 37)), Keyed: true}
	}
	return recs
}

func BenchmarkRecord(b *testing.B) {
	for _, bc := range exprs {
		b.Run(bc.name, func(b *testing.B) {
			p, err := expr.CompileRecord(bc.src)
			if err != nil {
				b.Fatal(err)
			}
			recs := records(1024)
			var buf []byte
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				v, err := p.RunRecord(&recs[i%len(recs)], 1000)
				if err != nil {
					b.Fatal(err)
				}
				if _, ok := v.(bool); ok {
					continue
				}
				if buf, err = expr.AppendText(buf[:0], v); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds()/1e6, "Mrec/s")
		})
	}
}

type discard struct{}

func (discard) Emit(*frame.Batch) error { return nil }

func BenchmarkStage(b *testing.B) {
	const n = 4096
	in := &frame.Batch{Time: 1000, Interval: 1000, Partitions: []frame.Partition{{Records: records(n)}}}
	for _, bc := range exprs {
		spec := ops.Map
		if bc.name[:6] == "filter" {
			spec = ops.Filter
		}
		b.Run(bc.name, func(b *testing.B) {
			op := newOperator(b, spec, bc.src)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := op.Process(context.Background(), in, discard{}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)*n/b.Elapsed().Seconds()/1e6, "Mrec/s")
		})
	}
}

func newOperator(b *testing.B, spec *stage.Spec, args ...string) stage.Operator {
	set := flag.NewFlagSet(spec.Name, flag.ContinueOnError)
	for _, f := range spec.Flags {
		if err := f.Apply(set); err != nil {
			b.Fatal(err)
		}
	}
	if err := set.Parse(args); err != nil {
		b.Fatal(err)
	}
	st, err := spec.New(&stage.Context{Context: cli.NewContext(cli.NewApp(), set, nil), Spec: spec})
	if err != nil {
		b.Fatal(err)
	}
	return st.(stage.Operator)
}

// BenchmarkStageFastPath: map and keyby on the shapes fastPath runs without
// the VM, over lines shaped as bench/gen-transactions writes them.
func BenchmarkStageFastPath(b *testing.B) {
	const n = 4096
	recs := make([]frame.Record, n)
	for i := range recs {
		recs[i].Value = []byte(fmt.Sprintf("%d,01/0%d/2016,%d,%d.%02d,Grocery store %d", i, i%9+1, 100000+i%1000, i%500, i%100, i%7))
	}
	in := &frame.Batch{Time: 1000, Interval: 1000, Partitions: []frame.Partition{{Records: recs}}}
	for _, bc := range []struct {
		name string
		spec *stage.Spec
		args []string
	}{
		{"map-field", ops.Map, []string{`split(value, ",")[4]`}},
		{"keyby-two-fields", ops.KeyBy, []string{`split(value, ",")[2]`, "--value", `split(value, ",")[3]`}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			op := newOperator(b, bc.spec, bc.args...)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := op.Process(context.Background(), in, discard{}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)*n/b.Elapsed().Seconds()/1e6, "Mrec/s")
		})
	}
}
