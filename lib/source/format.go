package source

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"dstream/lib/enum"
)

// Format says where a line's fields are. produce never rewrites a record:
// the format only locates --event-time and --key-field.
type Format int

// Formats.
const (
	FormatLines Format = iota
	FormatCSV
	FormatTSV
	FormatJSON
)

var formatNames = []string{"lines", "csv", "tsv", "json"}

func (f Format) String() string { return formatNames[f] }

// UnmarshalText parses a format name; its error lists the valid ones.
func (f *Format) UnmarshalText(b []byte) error {
	v, err := enum.Parse[Format]("format", formatNames, string(b))
	*f = v
	return err
}

// LineConfig says how a line becomes a record.
type LineConfig struct {
	Format Format
	// Keyed splits each line at its first TAB into key and value.
	Keyed bool
	// KeyField, when set, names the field that is the record's key; the
	// value stays the whole line.
	KeyField string
	// Header makes the first line of every csv/tsv input a header, so
	// fields can be named.
	Header bool
	// TimeField names the event-time field; empty in processing time.
	TimeField string
}

// Check validates the configuration as far as it can before reading.
func (c LineConfig) Check() error {
	if c.Keyed && c.KeyField != "" {
		return fmt.Errorf("--keyed and --key-field both given: the key comes from the TAB split or from a field, not both")
	}
	if c.Header && c.Format != FormatCSV && c.Format != FormatTSV {
		return fmt.Errorf("--header applies to --format csv or tsv, not %s", c.Format)
	}
	for _, f := range []struct{ flag, v string }{{"--key-field", c.KeyField}, {"--event-time", c.TimeField}} {
		if f.v == "" {
			continue
		}
		switch c.Format {
		case FormatLines:
			return fmt.Errorf("%s %s: a plain line has no fields; give --format csv, tsv or json", f.flag, f.v)
		case FormatCSV, FormatTSV:
			if !c.Header {
				if n, err := strconv.Atoi(f.v); err != nil || n < 1 {
					return fmt.Errorf("%s %q: want a column number from 1 (or --header to name columns)", f.flag, f.v)
				}
			}
		}
	}
	if c.Format != FormatLines && c.KeyField == "" && c.TimeField == "" && !c.Header {
		return fmt.Errorf("--format %s says where fields are, but no --event-time, --key-field or --header uses them", c.Format)
	}
	return nil
}

// field locates one named field: a column index, resolved per input when
// the input has a header.
type field struct {
	spec string
	col  int // 0-based column, -1 until resolved; unused for json
}

// parser turns lines into records and finds their fields.
type parser struct {
	cfg      LineConfig
	key      field
	time     field
	scratch  []byte // an unquoted csv field
	unquoted bool   // the last field returned is in scratch
	plain    bool   // lines as they are: nothing to find
	jsonObj  map[string]json.RawMessage
	jsonStr  string
}

func newParser(cfg LineConfig) *parser {
	p := &parser{cfg: cfg, key: field{spec: cfg.KeyField, col: -1}, time: field{spec: cfg.TimeField, col: -1},
		plain: cfg == LineConfig{}}
	if !cfg.Header {
		p.key.col, _ = strconv.Atoi(cfg.KeyField)
		p.time.col, _ = strconv.Atoi(cfg.TimeField)
		p.key.col--
		p.time.col--
	}
	return p
}

// record is a parsed line. key and ts point into the line or the parser's
// scratch space, valid until the next parse.
type record struct {
	skip  bool // a header line, not a record
	key   []byte
	keyed bool
	value []byte
	ts    []byte // the event-time field
	line  []byte // the whole line
}

// parse parses the line sp returned last into r; sp names it in errors.
func (p *parser) parse(r *record, line []byte, sp *splitter) error {
	*r = record{value: line, line: line}
	if p.cfg.Header && sp.lineNo == 1 {
		r.skip = true
		return p.readHeader(line, sp.where)
	}
	where := sp.where
	if p.cfg.Keyed {
		i := bytes.IndexByte(line, '\t')
		if i < 0 {
			return fmt.Errorf("%s: no TAB in the line (--keyed wants KEY<TAB>VALUE)", where())
		}
		r.key, r.value, r.keyed = line[:i], line[i+1:], true
	}
	if p.cfg.Format == FormatLines {
		return nil
	}
	if p.cfg.Format == FormatJSON {
		if err := json.Unmarshal(line, &p.jsonObj); err != nil {
			clear(p.jsonObj)
			return fmt.Errorf("%s: not a JSON object (%v)", where(), err)
		}
		defer clear(p.jsonObj)
	}
	var err error
	if p.cfg.KeyField != "" {
		r.key, err = p.field(line, p.key, where)
		r.keyed = true
		if err != nil {
			return err
		}
		// The time field may reuse the scratch space: keep the key apart.
		if p.cfg.TimeField != "" && p.unquoted {
			r.key = bytes.Clone(r.key)
		}
	}
	if p.cfg.TimeField != "" {
		r.ts, err = p.field(line, p.time, where)
	}
	return err
}

func (p *parser) field(line []byte, f field, where func() string) ([]byte, error) {
	switch p.cfg.Format {
	case FormatJSON:
		raw, ok := p.jsonObj[f.spec]
		if !ok {
			return nil, fmt.Errorf("%s: no field %q in the JSON object", where(), f.spec)
		}
		if len(raw) > 0 && raw[0] == '"' {
			if err := json.Unmarshal(raw, &p.jsonStr); err != nil {
				return nil, fmt.Errorf("%s: field %q: %v", where(), f.spec, err)
			}
			return []byte(p.jsonStr), nil
		}
		return raw, nil
	case FormatTSV:
		for i := 0; ; i++ {
			j := bytes.IndexByte(line, '\t')
			if i == f.col {
				if j >= 0 {
					return line[:j], nil
				}
				return line, nil
			}
			if j < 0 {
				return nil, fmt.Errorf("%s: no column %d (the line has %d)", where(), f.col+1, i+1)
			}
			line = line[j+1:]
		}
	}
	return p.csvField(line, f.col, where)
}

// csvField returns column col (0-based) of an RFC 4180 line; a quoted field
// is unquoted into the scratch space.
func (p *parser) csvField(line []byte, col int, where func() string) ([]byte, error) {
	p.unquoted = false
	for i := 0; ; i++ {
		var val []byte
		if len(line) > 0 && line[0] == '"' {
			p.scratch = p.scratch[:0]
			j := 1
			for {
				k := bytes.IndexByte(line[j:], '"')
				if k < 0 {
					return nil, fmt.Errorf("%s: column %d: quoted field without its closing quote", where(), i+1)
				}
				p.scratch = append(p.scratch, line[j:j+k]...)
				j += k + 1
				if j < len(line) && line[j] == '"' {
					p.scratch = append(p.scratch, '"')
					j++
					continue
				}
				break
			}
			val, line = p.scratch, line[j:]
			if len(line) > 0 && line[0] != ',' {
				return nil, fmt.Errorf("%s: column %d: text after a closing quote", where(), i+1)
			}
		} else {
			j := bytes.IndexByte(line, ',')
			if j < 0 {
				j = len(line)
			}
			val, line = line[:j], line[j:]
		}
		if i == col {
			p.unquoted = len(val) > 0 && len(p.scratch) > 0 && &val[0] == &p.scratch[0]
			return val, nil
		}
		if len(line) == 0 {
			return nil, fmt.Errorf("%s: no column %d (the line has %d)", where(), col+1, i+1)
		}
		line = line[1:] // the comma
	}
}

// readHeader resolves named fields against an input's header line. A name
// that is not a column but a number is a column number.
func (p *parser) readHeader(line []byte, where func() string) error {
	var names []string
	if p.cfg.Format == FormatTSV {
		names = strings.Split(string(line), "\t")
	} else {
		r := csv.NewReader(bytes.NewReader(line))
		var err error
		if names, err = r.Read(); err != nil {
			return fmt.Errorf("%s: bad csv header: %v", where(), err)
		}
	}
	for _, f := range []*field{&p.key, &p.time} {
		if f.spec == "" {
			continue
		}
		f.col = -1
		for i, n := range names {
			if n == f.spec {
				f.col = i
				break
			}
		}
		if f.col < 0 {
			if n, err := strconv.Atoi(f.spec); err == nil && n >= 1 {
				f.col = n - 1
				continue
			}
			return fmt.Errorf("%s: the header has no column %q (columns: %s)", where(), f.spec, strings.Join(names, ", "))
		}
	}
	return nil
}
