package source

import (
	"strings"
	"testing"
)

// parseLines runs a parser over lines of one input named "in" and returns
// "key|value|ts" per record, or the first error.
func parseLines(t *testing.T, cfg LineConfig, lines ...string) ([]string, error) {
	t.Helper()
	p := newParser(cfg)
	sp := splitter{name: "in"}
	var got []string
	for _, l := range lines {
		sp.lineNo++
		var r record
		if err := p.parse(&r, []byte(l), &sp); err != nil {
			return got, err
		}
		if r.skip {
			continue
		}
		k := "-"
		if r.keyed {
			k = string(r.key)
		}
		got = append(got, k+"|"+string(r.value)+"|"+string(r.ts))
	}
	return got, nil
}

func TestParser(t *testing.T) {
	tests := []struct {
		name  string
		cfg   LineConfig
		lines []string
		want  string
	}{
		{"plain", LineConfig{}, []string{"a b", ""}, "-|a b| ; -||"},
		{"keyed", LineConfig{Keyed: true}, []string{"k\tv\tw", "\tv"}, "k|v\tw| ; |v|"},
		{"csv column", LineConfig{Format: FormatCSV, KeyField: "2", TimeField: "1"}, []string{"10,a,x", "20,b"},
			"a|10,a,x|10 ; b|20,b|20"},
		{"csv quoted", LineConfig{Format: FormatCSV, KeyField: "2", TimeField: "3"}, []string{`1,"a ""q"", b",30`},
			`a "q", b|1,"a ""q"", b",30|30`},
		{"csv quoted key and time", LineConfig{Format: FormatCSV, KeyField: "1", TimeField: "2"}, []string{`"k","7"`},
			`k|"k","7"|7`},
		{"csv header names", LineConfig{Format: FormatCSV, Header: true, KeyField: "acct", TimeField: "ts"},
			[]string{"ts,acct", "5,x"}, "x|5,x|5"},
		{"csv header number", LineConfig{Format: FormatCSV, Header: true, TimeField: "2"},
			[]string{"a,b", "5,6"}, "-|5,6|6"},
		{"tsv", LineConfig{Format: FormatTSV, TimeField: "3"}, []string{"a\tb\t9"}, "-|a\tb\t9|9"},
		{"tsv last column empty", LineConfig{Format: FormatTSV, TimeField: "2"}, []string{"a\t"}, "-|a\t|"},
		{"json", LineConfig{Format: FormatJSON, KeyField: "k", TimeField: "t"}, []string{`{"t":12,"k":"a\"b","x":[1]}`},
			`a"b|{"t":12,"k":"a\"b","x":[1]}|12`},
		{"json time string", LineConfig{Format: FormatJSON, TimeField: "t"}, []string{`{"t":"2024-01-01"}`},
			`-|{"t":"2024-01-01"}|2024-01-01`},
		{"keyed and time", LineConfig{Format: FormatTSV, Keyed: true, TimeField: "2"}, []string{"k\t4"}, "k|4|4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.cfg.Check(); err != nil {
				t.Fatal(err)
			}
			got, err := parseLines(t, tt.cfg, tt.lines...)
			if err != nil {
				t.Fatal(err)
			}
			if s := strings.Join(got, " ; "); s != tt.want {
				t.Errorf("got  %q\nwant %q", s, tt.want)
			}
		})
	}
}

func TestParserErrors(t *testing.T) {
	tests := []struct {
		name  string
		cfg   LineConfig
		lines []string
		want  string
	}{
		{"keyed without tab", LineConfig{Keyed: true}, []string{"a\tb", "ab"}, "in:2: no TAB in the line (--keyed wants KEY<TAB>VALUE)"},
		{"csv missing column", LineConfig{Format: FormatCSV, TimeField: "3"}, []string{"a,b"}, "in:1: no column 3 (the line has 2)"},
		{"csv open quote", LineConfig{Format: FormatCSV, TimeField: "2"}, []string{`a,"b`}, "in:1: column 2: quoted field without its closing quote"},
		{"csv text after quote", LineConfig{Format: FormatCSV, TimeField: "2"}, []string{`"a"x,b`}, "in:1: column 1: text after a closing quote"},
		{"tsv missing column", LineConfig{Format: FormatTSV, TimeField: "4"}, []string{"a\tb"}, "in:1: no column 4 (the line has 2)"},
		{"header lacks name", LineConfig{Format: FormatCSV, Header: true, TimeField: "ts"}, []string{"a,b"}, `in:1: the header has no column "ts" (columns: a, b)`},
		{"json not object", LineConfig{Format: FormatJSON, TimeField: "t"}, []string{`[1]`}, "in:1: not a JSON object"},
		{"json missing field", LineConfig{Format: FormatJSON, TimeField: "t"}, []string{`{"u":1}`}, `in:1: no field "t" in the JSON object`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseLines(t, tt.cfg, tt.lines...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want %q", err, tt.want)
			}
		})
	}
}

func TestLineConfigCheck(t *testing.T) {
	tests := []struct {
		cfg  LineConfig
		want string
	}{
		{LineConfig{Keyed: true, KeyField: "1", Format: FormatCSV}, "--keyed and --key-field both given"},
		{LineConfig{Header: true}, "--header applies to --format csv or tsv, not lines"},
		{LineConfig{Header: true, Format: FormatJSON, TimeField: "t"}, "--header applies to --format csv or tsv, not json"},
		{LineConfig{TimeField: "2"}, "--event-time 2: a plain line has no fields"},
		{LineConfig{KeyField: "2"}, "--key-field 2: a plain line has no fields"},
		{LineConfig{Format: FormatCSV, TimeField: "ts"}, `--event-time "ts": want a column number from 1`},
		{LineConfig{Format: FormatTSV, KeyField: "0"}, `--key-field "0": want a column number from 1`},
		{LineConfig{Format: FormatJSON}, "--format json says where fields are, but no --event-time, --key-field or --header uses them"},
	}
	for _, tt := range tests {
		err := tt.cfg.Check()
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: got %v, want %q", tt.cfg, err, tt.want)
		}
	}
	var f Format
	if err := f.UnmarshalText([]byte("xml")); err == nil || err.Error() != `unknown format "xml" (want one of lines, csv, tsv, json)` {
		t.Errorf("got %v", err)
	}
}
