package ops

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
	"unsafe"

	"dstream/lib/expr"
	"dstream/lib/frame"
	"dstream/lib/stage"
	"dstream/lib/text"

	"github.com/urfave/cli/v2"
)

// Parse turns CSV or JSON text into typed JSON objects: the seed's parsing
// of transaction lines into SimpleTransaction, with UnparsableTransaction
// for the lines that fail.
var Parse = &stage.Spec{
	Name:      "parse",
	Usage:     "parse CSV or JSON values by a schema into JSON objects, bad records to a side file",
	ArgsUsage: "",
	Description: `parse --csv SCHEMA reads every record's value as one CSV row (RFC 4180
quoting; --delimiter, default ",") and makes it a JSON object with the
schema's fields, in schema order. SCHEMA is NAME[:TYPE],... with TYPE one of
  string          the text as a JSON string (the default; not trimmed)
  int             a whole number (64 bits), written in decimal
  decimal         a decimal number, written with its digits as given: 94.65,
                  20.0 stays 20.0 (a "+" and leading zeros are dropped)
  float           a number, with exponent if need be
  bool            true or false (also 1/0, t/f, TRUE/FALSE)
  date(LAYOUT)    a date in a Go layout, written "2006-01-02"; date alone
                  reads 2006-01-02
  time(LAYOUT)    a time in a Go layout, written in RFC 3339 (UTC unless the
                  layout has a zone); time alone reads RFC 3339
Typed fields may have spaces around them; an empty typed field is an error.
A row must have as many fields as the schema.

parse --json SCHEMA reads every value as a JSON object, converts the listed
fields to their types (a field may be given as a string or a JSON value) and
keeps the other fields; members stay in input order. A listed field that is
missing or null is an error.

The record's key is kept. A record that fails goes, with --unparsable FILE,
to FILE as the JSON line {"id":ID,"original":"the value","error":"why"}
(the seed's UnparsableTransaction; ID is the first int field of the schema
when it could be read, else null), is counted, and the count is logged at
the end; without --unparsable the stage stops with an error naming the
batch, the record and the field.

Example:
   produce --generate transactions --no-delay --start 0 \
     | parse --csv 'id:int,date:date(01/02/2006),account_number,amount:decimal,description' \
         --unparsable bad.jsonl \
     | sink
   gives {"id":0,"date":"1970-01-01","account_number":"123-ABC-789","amount":10.34,"description":"Drug Store"} ...`,
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "csv", Usage: "read CSV rows with the fields `SCHEMA` (NAME[:TYPE],...)"},
		&cli.StringFlag{Name: "json", Usage: "read JSON objects, converting the fields of `SCHEMA` (NAME:TYPE,...)"},
		&cli.StringFlag{Name: "delimiter", Value: ",", Usage: "the CSV field delimiter, one character (\\t for a TAB)"},
		&cli.StringFlag{Name: "unparsable", Usage: "append records that fail to `FILE` as JSON lines, and go on"},
	},
	MinArgs: 0, MaxArgs: 0,
	Kind: stage.KindOperator,
	New:  newParse,
}

// fieldType is a schema field's type.
type fieldType int

const (
	typeString fieldType = iota
	typeInt
	typeDecimal
	typeFloat
	typeBool
	typeDate
	typeTime
)

var typeNames = []string{"string", "int", "decimal", "float", "bool", "date", "time"}

type field struct {
	name   string
	typ    fieldType
	layout string // date and time
	member []byte // `"name":`, ready to append
}

// parseSchema reads NAME[:TYPE],... Commas inside a layout's parentheses
// do not split fields ("date(Jan 2, 2006)").
func parseSchema(spec string) ([]field, error) {
	var items []string
	depth, start := 0, 0
	for i := 0; i < len(spec); i++ {
		switch spec[i] {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				items = append(items, spec[start:i])
				start = i + 1
			}
		}
	}
	items = append(items, spec[start:])
	seen := map[string]bool{}
	fields := make([]field, 0, len(items))
	for i, it := range items {
		name, typ, hasType := strings.Cut(it, ":")
		name = strings.TrimSpace(name)
		if name == "" {
			return nil, fmt.Errorf("field %d %q has no name (want NAME[:TYPE])", i+1, it)
		}
		if seen[name] {
			return nil, fmt.Errorf("field %q appears twice", name)
		}
		seen[name] = true
		f := field{name: name}
		if hasType {
			var err error
			if f.typ, f.layout, err = parseFieldType(strings.TrimSpace(typ)); err != nil {
				return nil, fmt.Errorf("field %q: %v", name, err)
			}
		}
		f.member = append(text.AppendJSONString(nil, []byte(name)), ':')
		fields = append(fields, f)
	}
	return fields, nil
}

func parseFieldType(s string) (fieldType, string, error) {
	name, layout := s, ""
	if i := strings.IndexByte(s, '('); i >= 0 {
		if !strings.HasSuffix(s, ")") {
			return 0, "", fmt.Errorf("type %q: a layout ends with \")\"", s)
		}
		name, layout = s[:i], s[i+1:len(s)-1]
	}
	for t, n := range typeNames {
		if n != name {
			continue
		}
		ft := fieldType(t)
		switch {
		case ft == typeDate && layout == "":
			layout = "2006-01-02"
		case ft == typeTime && layout == "":
			layout = time.RFC3339Nano
		case ft != typeDate && ft != typeTime && layout != "":
			return 0, "", fmt.Errorf("type %q: only date and time take a layout", s)
		}
		return ft, layout, nil
	}
	return 0, "", fmt.Errorf("unknown type %q (want string, int, decimal, float, bool, date(LAYOUT) or time(LAYOUT))", s)
}

type parseOp struct {
	fields []field
	json   bool
	delim  byte
	idx    int // the first int field, -1 if none
	bad    *sideFile
	out    frame.Batch
	buf    []byte   // this chunk's new values
	cols   [][]byte // a CSV row's fields
	unq    []byte   // unquoted CSV fields
	n      int      // the record's index in its batch
	open   bool     // the last chunk had More
}

func newParse(c *stage.Context) (any, error) {
	csvSpec, jsonSpec := c.String("csv"), c.String("json")
	if (csvSpec == "") == (jsonSpec == "") {
		return nil, stage.Usagef("give one of --csv SCHEMA or --json SCHEMA")
	}
	p := &parseOp{json: jsonSpec != "", idx: -1}
	spec, flag := csvSpec, "--csv"
	if p.json {
		spec, flag = jsonSpec, "--json"
		if c.IsSet("delimiter") {
			return nil, stage.Usagef("--delimiter is for --csv")
		}
	}
	var err error
	if p.fields, err = parseSchema(spec); err != nil {
		return nil, stage.Usagef("%s: %v", flag, err)
	}
	for i, f := range p.fields {
		if f.typ == typeInt {
			p.idx = i
			break
		}
	}
	d := c.String("delimiter")
	if d == `\t` || d == "tab" {
		d = "\t"
	}
	if len(d) != 1 || d[0] == '"' || d[0] == '\n' || d[0] == '\r' || d[0] >= utf8.RuneSelf {
		return nil, stage.Usagef("--delimiter %q: want one ASCII character other than a quote or a line end", c.String("delimiter"))
	}
	p.delim = d[0]
	if p.bad, err = openSideFile(c.String("unparsable"), c.Log); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *parseOp) Process(_ context.Context, b *frame.Batch, out stage.Emitter) error {
	if !p.open {
		p.n = 0
	}
	p.open = b.More
	shapeLike(&p.out, b)
	p.buf = p.buf[:0]
	for pi := range b.Partitions {
		in := b.Partitions[pi].Records
		recs := p.out.Partitions[pi].Records[:0]
		for i := range in {
			r := &in[i]
			start := len(p.buf)
			var err error
			if p.json {
				p.buf, err = p.parseJSON(p.buf, r.Value)
			} else {
				p.buf, err = p.parseCSV(p.buf, r.Value)
			}
			if err != nil {
				p.buf = p.buf[:start]
				if p.bad == nil {
					return fmt.Errorf("batch %d, record %d (%s): %v", b.Time, p.n, showRecord(r), err)
				}
				if err := p.bad.writeParseFailure(p.id(r.Value), r.Value, err); err != nil {
					return err
				}
			} else {
				recs = append(recs, frame.Record{Key: r.Key, Keyed: r.Keyed, Value: p.buf[start:len(p.buf):len(p.buf)]})
			}
			p.n++
		}
		p.out.Partitions[pi].Records = recs
	}
	if err := p.bad.flush(); err != nil {
		return err
	}
	return out.Emit(&p.out)
}

// Close flushes --unparsable and logs its count.
func (p *parseOp) Close() error { return p.bad.close() }

// Barrier makes --unparsable durable up to the barrier.
func (p *parseOp) Barrier(context.Context, frame.Barrier) error { return p.bad.flush() }

// parseCSV appends the JSON object of one CSV row.
func (p *parseOp) parseCSV(dst, line []byte) ([]byte, error) {
	cols, err := p.split(line)
	if err != nil {
		return dst, err
	}
	if len(cols) != len(p.fields) {
		return dst, fmt.Errorf("%d fields, want %d (%s)", len(cols), len(p.fields), p.names())
	}
	dst = append(dst, '{')
	for i := range p.fields {
		f := &p.fields[i]
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, f.member...)
		if dst, err = convert(dst, f, cols[i], false); err != nil {
			return dst, fmt.Errorf("field %s (column %d): %v", f.name, i+1, err)
		}
	}
	return append(dst, '}'), nil
}

func (p *parseOp) names() string {
	var b strings.Builder
	for i, f := range p.fields {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(f.name)
	}
	return b.String()
}

// split cuts a CSV row into p.cols, unquoting RFC 4180 quoted fields into
// p.unq. The fields are valid until the next call.
func (p *parseOp) split(line []byte) ([][]byte, error) {
	p.cols, p.unq = p.cols[:0], p.unq[:0]
	// Unquoted fields point into p.unq; it must not move while a row is
	// read, so it is sized for the whole line first.
	if cap(p.unq) < len(line) {
		p.unq = make([]byte, 0, 2*len(line))
	}
	i := 0
	for {
		if i < len(line) && line[i] == '"' {
			start := len(p.unq)
			i++
			for {
				j := i
				for j < len(line) && line[j] != '"' {
					j++
				}
				p.unq = append(p.unq, line[i:j]...)
				if j == len(line) {
					return nil, fmt.Errorf("field %d: a quoted field has no closing quote", len(p.cols)+1)
				}
				if j+1 < len(line) && line[j+1] == '"' {
					p.unq = append(p.unq, '"')
					i = j + 2
					continue
				}
				i = j + 1
				break
			}
			p.cols = append(p.cols, p.unq[start:len(p.unq):len(p.unq)])
			if i < len(line) && line[i] != p.delim {
				return nil, fmt.Errorf("field %d: %q after a quoted field, want the delimiter", len(p.cols), line[i])
			}
		} else {
			j := i
			for j < len(line) && line[j] != p.delim {
				j++
			}
			p.cols = append(p.cols, line[i:j])
			i = j
		}
		if i >= len(line) {
			return p.cols, nil
		}
		i++ // the delimiter
	}
}

// convert appends the JSON of raw as f's type. In JSON mode raw is a JSON
// value: a string is unquoted first, and a number, true or false is taken
// as its text.
func convert(dst []byte, f *field, raw []byte, isJSON bool) ([]byte, error) {
	s := raw
	if isJSON {
		switch raw[0] {
		case '"':
			if f.typ == typeString {
				return append(dst, raw...), nil
			}
			var u string
			if err := json.Unmarshal(raw, &u); err != nil {
				return dst, err
			}
			s = []byte(u)
		case 'n':
			return dst, errors.New("is null")
		case '{', '[':
			return dst, fmt.Errorf("is a JSON %s, want %s", map[byte]string{'{': "object", '[': "array"}[raw[0]], typeNames[f.typ])
		}
	}
	if f.typ == typeString {
		return text.AppendJSONString(dst, s), nil
	}
	t := trimSpace(s)
	if len(t) == 0 {
		return dst, fmt.Errorf("is empty, want %s", typeNames[f.typ])
	}
	bad := func() error { return fmt.Errorf("%q is not %s", s, article(f)) }
	str := unsafe.String(&t[0], len(t))
	switch f.typ {
	case typeInt:
		n, err := strconv.ParseInt(str, 10, 64)
		if err != nil {
			return dst, bad()
		}
		return strconv.AppendInt(dst, n, 10), nil
	case typeDecimal:
		d, ok := appendDecimal(dst, t)
		if !ok {
			return dst, bad()
		}
		return d, nil
	case typeFloat:
		x, err := strconv.ParseFloat(str, 64)
		if err != nil || math.IsInf(x, 0) || math.IsNaN(x) || !isNumberText(t) {
			return dst, bad()
		}
		if text.IsJSON(t) {
			return append(dst, t...), nil
		}
		return expr.AppendFloat(dst, x)
	case typeBool:
		v, err := strconv.ParseBool(str)
		if err != nil {
			return dst, bad()
		}
		return strconv.AppendBool(dst, v), nil
	case typeDate, typeTime:
		tm, err := time.Parse(f.layout, str)
		if err != nil {
			return dst, fmt.Errorf("%q is not %s in the layout %q", s, article(f), f.layout)
		}
		dst = append(dst, '"')
		if f.typ == typeDate {
			dst = tm.AppendFormat(dst, "2006-01-02")
		} else {
			dst = tm.AppendFormat(dst, time.RFC3339Nano)
		}
		return append(dst, '"'), nil
	}
	return dst, fmt.Errorf("internal error: type %d", f.typ)
}

func article(f *field) string {
	switch f.typ {
	case typeInt:
		return "an int"
	case typeDate:
		return "a date"
	case typeTime:
		return "a time"
	}
	return "a " + typeNames[f.typ]
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

func trimJSONSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\r' || b[0] == '\n') {
		b = b[1:]
	}
	for n := len(b); n > 0 && (b[n-1] == ' ' || b[n-1] == '\t' || b[n-1] == '\r' || b[n-1] == '\n'); n = len(b) {
		b = b[:n-1]
	}
	return b
}

// isNumberText rules out what ParseFloat takes that is not a decimal
// number: hex, "inf", "nan", underscores.
func isNumberText(b []byte) bool {
	for _, c := range b {
		if !(c >= '0' && c <= '9' || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E') {
			return false
		}
	}
	return true
}

// appendDecimal appends b, a decimal in plain notation ([+-]DIGITS[.DIGITS]
// or [+-].DIGITS), as a JSON number with the same digits: the sign "+" and
// leading zeros are dropped, and ".5" becomes 0.5. Trailing zeros stay:
// 20.0 is written 20.0.
func appendDecimal(dst, b []byte) ([]byte, bool) {
	i, neg := 0, false
	if i < len(b) && (b[i] == '-' || b[i] == '+') {
		neg = b[i] == '-'
		i++
	}
	is := i
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	intPart := b[is:i]
	var frac []byte
	if i < len(b) && b[i] == '.' {
		i++
		fs := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		frac = b[fs:i]
	}
	if i != len(b) || len(intPart)+len(frac) == 0 {
		return dst, false
	}
	for len(intPart) > 1 && intPart[0] == '0' {
		intPart = intPart[1:]
	}
	if neg {
		dst = append(dst, '-')
	}
	if len(intPart) == 0 {
		dst = append(dst, '0')
	} else {
		dst = append(dst, intPart...)
	}
	if len(frac) > 0 {
		dst = append(append(dst, '.'), frac...)
	}
	return dst, true
}

// parseJSON appends the object in b with the schema's fields converted.
func (p *parseOp) parseJSON(dst, b []byte) ([]byte, error) {
	b = trimJSONSpace(b)
	if len(b) == 0 || b[0] != '{' || !text.IsJSON(b) {
		return dst, errors.New("not a JSON object")
	}
	found := make([]bool, len(p.fields))
	dst = append(dst, '{')
	first := true
	var err error
	members(b, func(key, name, raw []byte) bool {
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = append(append(dst, key...), ':')
		for i := range p.fields {
			f := &p.fields[i]
			if f.name != string(name) {
				continue
			}
			found[i] = true
			if dst, err = convert(dst, f, raw, true); err != nil {
				err = fmt.Errorf("field %s: %v", f.name, err)
				return false
			}
			return true
		}
		dst = append(dst, raw...)
		return true
	})
	if err != nil {
		return dst, err
	}
	for i, ok := range found {
		if !ok {
			return dst, fmt.Errorf("field %s is missing", p.fields[i].name)
		}
	}
	return append(dst, '}'), nil
}

// members calls fn with each member of the JSON object b (checked by
// text.IsJSON): the key as written (quoted), its decoded name and the raw
// value, until fn returns false.
func members(b []byte, fn func(key, name, raw []byte) bool) {
	i := 1
	ws := func() {
		for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
			i++
		}
	}
	str := func() {
		i++
		for b[i] != '"' {
			if b[i] == '\\' {
				i++
			}
			i++
		}
		i++
	}
	for {
		ws()
		if b[i] == '}' {
			return
		}
		ks := i
		str()
		key := b[ks:i]
		name := key[1 : len(key)-1]
		if strings.IndexByte(string(name), '\\') >= 0 {
			var u string
			json.Unmarshal(key, &u) // valid JSON: cannot fail
			name = []byte(u)
		}
		ws()
		i++ // ':'
		ws()
		vs := i
		switch b[i] {
		case '"':
			str()
		case '{', '[':
			depth := 0
			for {
				c := b[i]
				if c == '"' {
					str()
					continue
				}
				i++
				if c == '{' || c == '[' {
					depth++
				} else if c == '}' || c == ']' {
					if depth--; depth == 0 {
						break
					}
				}
			}
		default:
			for i < len(b) && b[i] != ',' && b[i] != '}' && b[i] != ' ' && b[i] != '\t' && b[i] != '\n' && b[i] != '\r' {
				i++
			}
		}
		if !fn(key, name, b[vs:i]) {
			return
		}
		ws()
		if b[i] == ',' {
			i++
		}
	}
}

// id returns the UnparsableTransaction id of a failed record: the first
// int field when it can be read, else nil.
func (p *parseOp) id(v []byte) []byte {
	if p.idx < 0 {
		return nil
	}
	f := &p.fields[p.idx]
	var raw []byte
	if p.json {
		v = trimJSONSpace(v)
		if len(v) == 0 || v[0] != '{' || !text.IsJSON(v) {
			return nil
		}
		members(v, func(_, name, r []byte) bool {
			if string(name) == f.name {
				raw = r
				return false
			}
			return true
		})
		if raw == nil {
			return nil
		}
	} else {
		cols, err := p.split(v)
		if err != nil || p.idx >= len(cols) {
			return nil
		}
		raw = cols[p.idx]
	}
	out, err := convert(nil, f, raw, p.json)
	if err != nil {
		return nil
	}
	return out
}

// sideFile is a stage's --unparsable FILE: failed records as JSON lines,
// appended, counted, flushed after every batch and at every barrier. Its
// methods do nothing on a nil *sideFile (no --unparsable).
type sideFile struct {
	path string
	f    *os.File
	w    *bufio.Writer
	n    int64
	log  *slog.Logger
	line []byte
}

func openSideFile(path string, log *slog.Logger) (*sideFile, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("--unparsable: %w", err)
	}
	return &sideFile{path: path, f: f, w: bufio.NewWriter(f), log: log}, nil
}

func (s *sideFile) write(line []byte) error {
	s.n++
	if _, err := s.w.Write(line); err != nil {
		return fmt.Errorf("--unparsable %s: %w", s.path, err)
	}
	return nil
}

// writeParseFailure writes {"id":ID,"original":V,"error":"..."}: the seed's
// UnparsableTransaction. id is JSON (nil is null).
func (s *sideFile) writeParseFailure(id, v []byte, err error) error {
	line := append(s.line[:0], `{"id":`...)
	if id == nil {
		line = append(line, "null"...)
	} else {
		line = append(line, id...)
	}
	line = append(line, `,"original":`...)
	line = text.AppendJSONString(line, v)
	line = append(line, `,"error":`...)
	line = text.AppendJSONString(line, []byte(err.Error()))
	line = append(line, "}\n"...)
	s.line = line
	return s.write(line)
}

func (s *sideFile) flush() error {
	if s == nil || s.w.Buffered() == 0 {
		return nil
	}
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("--unparsable %s: %w", s.path, err)
	}
	return nil
}

// close flushes and closes the file and logs the count; later calls do
// nothing.
func (s *sideFile) close() error {
	if s == nil || s.f == nil {
		return nil
	}
	err := s.w.Flush()
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	s.f = nil
	if err != nil {
		return fmt.Errorf("--unparsable %s: %w", s.path, err)
	}
	if s.log != nil {
		s.log.Info("unparsable records", "count", s.n, "file", s.path)
	}
	return nil
}
