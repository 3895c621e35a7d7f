package ops

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"strconv"
	"unicode/utf8"

	"dstream/lib/expr"
	"dstream/lib/frame"
	"dstream/lib/stage"
	"dstream/lib/text"

	"github.com/urfave/cli/v2"
)

// Map is Spark's DStream.map.
var Map = &stage.Spec{
	Name:      "map",
	Usage:     "replace every record by the result of an expression (Spark's map)",
	ArgsUsage: "EXPR",
	Description: `map EXPR evaluates EXPR (github.com/expr-lang/expr) for every record and
makes its result the record. As Spark's map replaces the whole element, the
result is the new value and the record becomes unkeyed, unless --keep-key
keeps the key of a keyed record, or the result is pair(K, V), which makes the
keyed record K<TAB>V (Spark's map(x => (k, v))).
` + exprHelp + `
A nil result (a missing field) is an error.

Examples:
   produce --queue a.txt | map 'upper(value)' | sink
   produce --queue a.txt | map 'pair(value, 1)' | sink
   ... | parse --csv 'id:int,amount:decimal' | map --keep-key 'value.amount * 2' | sink`,
	Flags:   []cli.Flag{keepKeyFlag, unparsableFlag, parallelismFlag},
	MinArgs: 1, MaxArgs: 1,
	Kind: stage.KindOperator,
	New:  func(c *stage.Context) (any, error) { return newExprOp(c, kindMap) },
}

// exprHelp is the part of every expression stage's description that says
// what an expression sees and how its result becomes text.
const exprHelp = `
An expression sees key (a string; nil for an unkeyed record), value and time
(the batch time in ms, an int). value is the record's text as a string, so
int(value), float(value), split(value, ",") work; a value whose text is a
JSON object or array (parse's output, join's [v,w]) is given decoded, so
value.amount, value[0] and sum(value) work (a JSON number is an int when it
has no fraction or exponent and fits 64 bits, else a float). Besides expr's
builtins (lower, upper, trim, split, len, sum, ...): num(x), decimal text or
a number as a number; text(x), x as record text; pair(k, v), a keyed record.

A result becomes text as: a string as is; an int in decimal; a float with
at most 15 significant digits and no decimal point when integral (94.65 +
2.49 is 97.14, 2.0 is 2; NaN and infinities are errors); true or false; a
list or map as JSON (map keys sorted; a string that is valid JSON embedded as
is). An expression that fails on a record (a type error, integer division by
zero) stops the stage with an error naming the batch, the record and the
expression, or, with --unparsable FILE, sends the record to FILE as a JSON
line {"time":T,"key":K,"value":V,"error":"..."} (counted, and the count
logged at the end) and goes on.

--parallelism N evaluates a chunk's partitions on up to N goroutines
(default 0: GOMAXPROCS; 1 evaluates them one after another); the output,
errors and --unparsable lines are the same whatever N.
`

var (
	keepKeyFlag    = &cli.BoolFlag{Name: "keep-key", Usage: "keep a keyed record's key (the result is the new value)"}
	unparsableFlag = &cli.StringFlag{Name: "unparsable", Usage: "append records the expression fails on to `FILE` as JSON lines, and go on"}
	// parallelismFlag is shared by every stage that works on a chunk's
	// partitions in parallel.
	parallelismFlag = &cli.IntFlag{Name: "parallelism", Usage: "work on a chunk's partitions on up to `N` goroutines (0: GOMAXPROCS)"}
)

// parallelismArg reads --parallelism: 0 is GOMAXPROCS.
func parallelismArg(c *stage.Context) (int, error) {
	par := c.Int("parallelism")
	if par < 0 {
		return 0, stage.Usagef("--parallelism %d: want 1 or more goroutines (or 0 for GOMAXPROCS)", par)
	}
	if par == 0 {
		par = runtime.GOMAXPROCS(0)
	}
	return par, nil
}

// parallelMinRecords is the number of records in a chunk below which its
// partitions are evaluated one after another: starting goroutines costs
// more than a few thousand cheap evaluations save.
const parallelMinRecords = 4096

// exprKind is what a per-record expression stage does with the result.
type exprKind int

const (
	kindMap exprKind = iota
	kindFilter
	kindFlatMap
	kindKeyBy
	kindMapValues
	kindFlatMapValues
)

// exprOp is every per-record expression stage: map, filter, flatmap,
// keyby, mapvalues and flatmapvalues. Records keep their input order and
// partition; a chunk of a batch gives a chunk with the same More.
type exprOp struct {
	kind    exprKind
	keepKey bool
	par     int           // --parallelism, resolved: 1 or more
	workers []*exprWorker // workers[0] is the sequential path; the rest are made when first needed
	bad     *sideFile     // --unparsable; nil stops at the first failure
	out     frame.Batch
	parts   []partResult // per partition of the chunk being processed
	firsts  []int        // per partition: the index in its batch of its first record
	n       int          // the index in its batch of the chunk's first record
	open    bool         // the last chunk had More: n runs on
}

// exprWorker evaluates whole partitions. An expr.Program is not safe for
// concurrent use and keeps per-Program state (its VM, RunRecord's boxes,
// the value RunRecordAfter shares), so each worker has its own programs,
// and its own text buffer, which its output records point into until Emit
// returns.
type exprWorker struct {
	o       *exprOp // read only: kind, keepKey
	prog    *expr.Program
	valProg *expr.Program // keyby --value; nil keeps the value
	buf     []byte        // the text of this chunk's new keys and values
}

// partResult is what evaluating one partition found: the records that go
// to --unparsable, in order, and the error that stopped it (naming the
// record by its index in the batch).
type partResult struct {
	fails []exprFailure
	err   error
}

type exprFailure struct {
	r   *frame.Record // in the input chunk, which outlives Process
	err error
}

func newExprOp(c *stage.Context, kind exprKind) (*exprOp, error) {
	prog, err := compileArg(c.Args().First())
	if err != nil {
		return nil, err
	}
	par, err := parallelismArg(c)
	if err != nil {
		return nil, err
	}
	o := &exprOp{kind: kind, keepKey: c.Bool("keep-key"), par: par}
	w := &exprWorker{o: o, prog: prog}
	if kind == kindKeyBy && c.IsSet("value") {
		if w.valProg, err = compileArg(c.String("value")); err != nil {
			return nil, err
		}
	}
	o.workers = []*exprWorker{w}
	if o.bad, err = openSideFile(c.String("unparsable"), c.Log); err != nil {
		return nil, err
	}
	return o, nil
}

func compileArg(src string) (*expr.Program, error) {
	p, err := expr.CompileRecord(src)
	if err != nil {
		return nil, stage.Usagef("expression %q: %v", src, err)
	}
	return p, nil
}

func (o *exprOp) Process(_ context.Context, b *frame.Batch, out stage.Emitter) error {
	if !o.open {
		o.n = 0
	}
	o.open = b.More
	shapeLike(&o.out, b)
	if cap(o.parts) < len(b.Partitions) {
		o.parts = make([]partResult, len(b.Partitions))
	}
	o.parts = o.parts[:len(b.Partitions)]
	total := 0
	for pi := range b.Partitions {
		total += len(b.Partitions[pi].Records)
	}
	workers := min(o.par, len(b.Partitions))
	if total < parallelMinRecords {
		workers = 1
	}
	for len(o.workers) < workers {
		w0 := o.workers[0]
		w := &exprWorker{o: o, prog: w0.prog.Clone()}
		if w0.valProg != nil {
			w.valProg = w0.valProg.Clone()
		}
		o.workers = append(o.workers, w)
	}
	for _, w := range o.workers[:workers] {
		w.buf = w.buf[:0]
	}
	if workers == 1 {
		w, first := o.workers[0], o.n
		for pi := range b.Partitions {
			w.partition(b, pi, first)
			first += len(b.Partitions[pi].Records)
			// Written as they come, as the partitions are in order.
			if err := o.report(pi); err != nil {
				return err
			}
		}
	} else {
		o.parallel(b, workers)
		for pi := range b.Partitions {
			if err := o.report(pi); err != nil {
				return err
			}
		}
	}
	o.n += total
	if err := o.bad.flush(); err != nil {
		return err
	}
	return out.Emit(&o.out)
}

// parallel evaluates b's partitions on workers goroutines, which take the
// next partition as they finish one. After a partition stops on an error
// no other starts: only the first error in batch order is reported.
func (o *exprOp) parallel(b *frame.Batch, workers int) {
	o.firsts = o.firsts[:0]
	n := o.n
	for pi := range b.Partitions {
		o.firsts = append(o.firsts, n)
		n += len(b.Partitions[pi].Records)
	}
	inParallel(workers, len(b.Partitions), func(w, pi int) error {
		return o.workers[w].partition(b, pi, o.firsts[pi])
	})
}

// report writes partition pi's failures to --unparsable and returns the
// error that stopped it, if any.
func (o *exprOp) report(pi int) error {
	p := &o.parts[pi]
	for _, f := range p.fails {
		if err := o.bad.writeExprFailure(o.out.Time, f.r, f.err); err != nil {
			return err
		}
	}
	return p.err
}

// partition evaluates partition pi of b, whose first record has index
// first in the batch, into o.out's partition pi and o.parts[pi], and
// returns the error that stopped it.
func (w *exprWorker) partition(b *frame.Batch, pi, first int) error {
	o := w.o
	res := &o.parts[pi]
	res.fails, res.err = res.fails[:0], nil
	in := b.Partitions[pi].Records
	recs := o.out.Partitions[pi].Records[:0]
	defer func() { o.out.Partitions[pi].Records = recs }()
	for i := range in {
		r := &in[i]
		if !r.Keyed && (o.kind == kindMapValues || o.kind == kindFlatMapValues) {
			res.err = fmt.Errorf("batch %d, record %d has no key (%s wants keyed records; use keyby first)", b.Time, first+i, kindName[o.kind])
			return res.err
		}
		if o.kind == kindMap || o.kind == kindMapValues {
			// The fast path inline: the commonest map is a field pick.
			if text, buf, ok := w.prog.FastText(w.buf, r); ok {
				w.buf = buf
				out := w.keyOf(r)
				out.Value = text
				recs = append(recs, out)
				continue
			}
		}
		mark, bufMark := len(recs), len(w.buf)
		var err error
		if recs, err = w.record(recs, r, b.Time); err != nil {
			err = shortError(err)
			if o.bad == nil {
				res.err = fmt.Errorf("batch %d, record %d (%s): %v", b.Time, first+i, showRecord(r), err)
				return res.err
			}
			// Drop what the record made before it failed.
			recs, w.buf = recs[:mark], w.buf[:bufMark]
			res.fails = append(res.fails, exprFailure{r, err})
		}
	}
	return nil
}

var kindName = []string{"map", "filter", "flatmap", "keyby", "mapvalues", "flatmapvalues"}

// record appends r's output records to recs. Its error names the
// expression that failed.
func (w *exprWorker) record(recs []frame.Record, r *frame.Record, t int64) ([]frame.Record, error) {
	o := w.o
	switch o.kind {
	case kindKeyBy:
		var k []byte
		var ok bool
		if k, w.buf, ok = w.prog.FastText(w.buf, r); ok {
			return w.keyBy(recs, r, t, k)
		}
	}
	v, err := w.prog.RunRecord(r, t)
	if err != nil {
		return recs, fmt.Errorf("%s: %v", w.prog.Source(), err)
	}
	switch o.kind {
	case kindFilter:
		keep, ok := v.(bool)
		if !ok {
			return recs, fmt.Errorf("%s: the result is %s, not a bool (filter keeps the records it gives true)", w.prog.Source(), describe(v))
		}
		if keep {
			recs = append(recs, *r)
		}
		return recs, nil
	case kindMap, kindMapValues:
		return w.appendResult(recs, r, v, w.prog)
	case kindFlatMap, kindFlatMapValues:
		var err error
		switch l := v.(type) {
		case []any: // what expr's lists are: no reflection
			for i, e := range l {
				if recs, err = w.appendResult(recs, r, e, w.prog); err != nil {
					return recs, fmt.Errorf("%w (element %d)", err, i)
				}
			}
			return recs, nil
		case []string: // split's result
			for _, e := range l {
				recs, _ = w.appendResult(recs, r, e, w.prog) // a string always has text
			}
			return recs, nil
		}
		l, ok := asList(v)
		if !ok {
			return recs, fmt.Errorf("%s: the result is %s, not a list (%s makes one record of each element)", w.prog.Source(), describe(v), kindName[o.kind])
		}
		for i := range l.Len() {
			if recs, err = w.appendResult(recs, r, l.Index(i).Interface(), w.prog); err != nil {
				return recs, fmt.Errorf("%w (element %d)", err, i)
			}
		}
		return recs, nil
	case kindKeyBy:
		k, err := w.text(v)
		if err != nil {
			return recs, fmt.Errorf("%s: %v", w.prog.Source(), err)
		}
		return w.keyBy(recs, r, t, k)
	}
	return recs, fmt.Errorf("internal error: stage kind %d", o.kind)
}

// keyBy appends r keyed by k, with --value's result as its value.
func (w *exprWorker) keyBy(recs []frame.Record, r *frame.Record, t int64, k []byte) ([]frame.Record, error) {
	val := r.Value
	if w.valProg != nil {
		var ok bool
		if val, w.buf, ok = w.valProg.FastText(w.buf, r); !ok {
			vv, err := w.valProg.RunRecordAfter(w.prog, r, t)
			if err != nil {
				return recs, fmt.Errorf("%s: %v", w.valProg.Source(), err)
			}
			if val, err = w.text(vv); err != nil {
				return recs, fmt.Errorf("%s: %v", w.valProg.Source(), err)
			}
		}
	}
	return append(recs, frame.Record{Key: k, Value: val, Keyed: true}), nil
}

// appendResult appends the record that the result v makes of r.
func (w *exprWorker) appendResult(recs []frame.Record, r *frame.Record, v any, p *expr.Program) ([]frame.Record, error) {
	o := w.o
	out := w.keyOf(r)
	if pr, ok := v.(expr.Pair); ok && (o.kind == kindMap || o.kind == kindFlatMap) {
		k, err := w.text(pr.Key)
		if err != nil {
			return recs, fmt.Errorf("%s: the pair's key: %v", p.Source(), err)
		}
		out.Key, out.Keyed, v = k, true, pr.Value
	}
	val, err := w.text(v)
	if err != nil {
		return recs, fmt.Errorf("%s: %v", p.Source(), err)
	}
	out.Value = val
	return append(recs, out), nil
}

// text appends v's text to the chunk's buffer and returns it. A slice
// taken before the buffer grows still points at the old array, which is
// not written again in this chunk.
// keyOf returns the output record for r's result before its value is set:
// the key it keeps, if any.
func (w *exprWorker) keyOf(r *frame.Record) frame.Record {
	switch {
	case w.o.kind == kindMapValues || w.o.kind == kindFlatMapValues:
		return frame.Record{Key: r.Key, Keyed: true}
	case w.o.keepKey:
		return frame.Record{Key: r.Key, Keyed: r.Keyed}
	}
	return frame.Record{}
}

func (w *exprWorker) text(v any) ([]byte, error) {
	start := len(w.buf)
	var err error
	w.buf, err = expr.AppendText(w.buf, v)
	if err != nil {
		w.buf = w.buf[:start]
		return nil, err
	}
	return w.buf[start:len(w.buf):len(w.buf)], nil
}

// Close flushes --unparsable and logs its count.
func (o *exprOp) Close() error { return o.bad.close() }

// Barrier makes --unparsable durable up to the barrier.
func (o *exprOp) Barrier(context.Context, frame.Barrier) error { return o.bad.flush() }

// asList returns v as a list when it is one (any slice or array).
func asList(v any) (reflect.Value, bool) {
	if v == nil {
		return reflect.Value{}, false
	}
	rv := reflect.ValueOf(v)
	if k := rv.Kind(); k != reflect.Slice && k != reflect.Array {
		return reflect.Value{}, false
	}
	return rv, true
}

// describe names a result's type and shows a short form of it.
func describe(v any) string {
	name := expr.TypeName(v)
	if v == nil {
		return name
	}
	b, err := expr.AppendText(nil, v)
	if err != nil {
		return "a " + name
	}
	s := strconv.Quote(string(truncate(b, 40)))
	if len(b) > 40 {
		s += "..."
	}
	article := "a "
	if name == "int" {
		article = "an "
	}
	return article + name + " " + s
}

// showLimit bounds the record text shown in an error.
const showLimit = 200

// showRecord shows a record in an error: "KEY\tVALUE" or "VALUE", quoted,
// its first showLimit bytes and "..." when longer.
func showRecord(r *frame.Record) string {
	var b []byte
	if r.Keyed {
		b = append(append(append(b, r.Key...), '\t'), r.Value...)
	} else {
		b = r.Value
	}
	s := strconv.Quote(string(truncate(b, showLimit)))
	if len(b) > showLimit {
		s += "..."
	}
	return s
}

// errorLimit bounds an expression's error message, which may quote a
// whole value (expr's "invalid operation: int(...)").
const errorLimit = 300

// shortError cuts err's message to errorLimit bytes and "...".
func shortError(err error) error {
	msg := err.Error()
	if len(msg) <= errorLimit {
		return err
	}
	return errors.New(string(truncate([]byte(msg), errorLimit)) + "...")
}

// truncate cuts b to at most n bytes, not inside a UTF-8 sequence.
func truncate(b []byte, n int) []byte {
	if len(b) <= n {
		return b
	}
	for n > 0 && !utf8.RuneStart(b[n]) {
		n--
	}
	return b[:n]
}

// writeExprFailure sends a record an expression failed on to the side
// file: {"time":T,"key":K,"value":V,"error":"..."}.
func (s *sideFile) writeExprFailure(t int64, r *frame.Record, err error) error {
	line := append(s.line[:0], `{"time":`...)
	line = strconv.AppendInt(line, t, 10)
	line = append(line, `,"key":`...)
	if r.Keyed {
		line = text.AppendJSON(line, r.Key)
	} else {
		line = append(line, "null"...)
	}
	line = append(line, `,"value":`...)
	line = text.AppendJSON(line, r.Value)
	line = append(line, `,"error":`...)
	line = text.AppendJSONString(line, []byte(err.Error()))
	line = append(line, "}\n"...)
	s.line = line
	return s.write(line)
}

// shapeLike makes out a batch (or chunk) of in's time, interval, More flag
// and partition count, for a stage that maps records one to one or more:
// out's partition slices keep their memory for the stage to fill.
func shapeLike(out, in *frame.Batch) {
	out.Time, out.Interval, out.More = in.Time, in.Interval, in.More
	if cap(out.Partitions) < len(in.Partitions) {
		out.Partitions = make([]frame.Partition, len(in.Partitions))
	}
	out.Partitions = out.Partitions[:len(in.Partitions)]
}
