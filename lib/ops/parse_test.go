package ops

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"dstream/lib/frame"
	"dstream/lib/stage"
)

const txSchema = "id:int,date:date(01/02/2006),account_number,amount:decimal,description"

func TestParseCSV(t *testing.T) {
	runExprCases(t, Parse, []exprCase{
		{"seed transactions", []string{"--csv", txSchema},
			[]*frame.Batch{batch(1000, []string{"0,01/01/1970,123-ABC-789,10.34,Drug Store", "k\t5,03/09/2024,456-DEF-456,20.0,Books"})},
			`{"id":0,"date":"1970-01-01","account_number":"123-ABC-789","amount":10.34,"description":"Drug Store"}` + "\n" +
				`k	{"id":5,"date":"2024-03-09","account_number":"456-DEF-456","amount":20.0,"description":"Books"}` + "\n--\n", false},
		{"types, quoting, spaces", []string{"--csv", "a:float,b:bool,c:decimal,d:time(2006-01-02 15:04),e,f:int"},
			[]*frame.Batch{batch(1000, []string{`1e3, TRUE ,+007.50,2024-03-09 10:30,"x, ""y""", -4`, `.5,0,-.25,2024-03-09 00:00,,+0`})},
			`{"a":1e3,"b":true,"c":7.50,"d":"2024-03-09T10:30:00Z","e":"x, \"y\"","f":-4}` + "\n" +
				`{"a":0.5,"b":false,"c":-0.25,"d":"2024-03-09T00:00:00Z","e":"","f":0}` + "\n--\n", false},
		{"delimiter", []string{"--csv", "a,b:int", "--delimiter", `\t`},
			[]*frame.Batch{batch(1000, []string{"k\tx\t1"})}, "k\t{\"a\":\"x\",\"b\":1}\n--\n", false},
		{"bad decimal", []string{"--csv", txSchema},
			[]*frame.Batch{batch(1000, []string{"0,01/01/1970,123-ABC-789,10.34,Drug Store", "1,01/01/1970,456-DEF-456,9x,Books"})},
			`batch 1000, record 1 ("1,01/01/1970,456-DEF-456,9x,Books"): field amount (column 4): "9x" is not a decimal`, true},
		{"field count", []string{"--csv", txSchema}, []*frame.Batch{batch(1000, []string{"1,2"})},
			`batch 1000, record 0 ("1,2"): 2 fields, want 5 (id,date,account_number,amount,description)`, true},
		{"bad date", []string{"--csv", txSchema}, []*frame.Batch{batch(1000, []string{"1,2024-01-01,a,1,b"})},
			`batch 1000, record 0 ("1,2024-01-01,a,1,b"): field date (column 2): "2024-01-01" is not a date in the layout "01/02/2006"`, true},
		{"unclosed quote", []string{"--csv", "a,b"}, []*frame.Batch{batch(1000, []string{`x,"y`})},
			`batch 1000, record 0 ("x,\"y"): field 2: a quoted field has no closing quote`, true},
		{"empty typed field", []string{"--csv", "a:int"}, []*frame.Batch{batch(1000, []string{" "})},
			`batch 1000, record 0 (" "): field a (column 1): is empty, want int`, true},
	})
}

func TestParseJSON(t *testing.T) {
	runExprCases(t, Parse, []exprCase{
		{"convert listed, keep others", []string{"--json", "id:int,amount:decimal,date:date(01/02/2006)"},
			[]*frame.Batch{batch(1000, []string{` { "id" : "7", "note":{"a":[1,"}"]}, "amount": 20.0, "date":"03/09/2024", "x\"y":null } `})},
			`{"id":7,"note":{"a":[1,"}"]},"amount":20.0,"date":"2024-03-09","x\"y":null}` + "\n--\n", false},
		{"string from number", []string{"--json", "s"},
			[]*frame.Batch{batch(1000, []string{`{"s":12.5}`, `{"s":"a"}`})}, "{\"s\":\"12.5\"}\n{\"s\":\"a\"}\n--\n", false},
		{"missing", []string{"--json", "id:int,amount:decimal"}, []*frame.Batch{batch(1000, []string{`{"id":1}`})},
			`batch 1000, record 0 ("{\"id\":1}"): field amount is missing`, true},
		{"null", []string{"--json", "id:int"}, []*frame.Batch{batch(1000, []string{`{"id":null}`})},
			`batch 1000, record 0 ("{\"id\":null}"): field id: is null`, true},
		{"not an object", []string{"--json", "id:int"}, []*frame.Batch{batch(1000, []string{`[1]`})},
			`batch 1000, record 0 ("[1]"): not a JSON object`, true},
		{"not an int", []string{"--json", "id:int"}, []*frame.Batch{batch(1000, []string{`{"id":1.5}`})},
			`batch 1000, record 0 ("{\"id\":1.5}"): field id: "1.5" is not an int`, true},
	})
}

func TestParseUnparsable(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.jsonl")
	runExprCases(t, Parse, []exprCase{
		{"bad lines to the side file", []string{"--csv", txSchema, "--unparsable", bad},
			[]*frame.Batch{batch(1000, []string{"1,01/01/1970,a,1.5,b", "2,01/01/1970,a,x,b", "x,y", "3,01/01/1970,a,2,b"})},
			`{"id":1,"date":"1970-01-01","account_number":"a","amount":1.5,"description":"b"}` + "\n" +
				`{"id":3,"date":"1970-01-01","account_number":"a","amount":2,"description":"b"}` + "\n--\n", false},
	})
	got, err := os.ReadFile(bad)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id":2,"original":"2,01/01/1970,a,x,b","error":"field amount (column 4): \"x\" is not a decimal"}` + "\n" +
		`{"id":null,"original":"x,y","error":"2 fields, want 5 (id,date,account_number,amount,description)"}` + "\n"
	if string(got) != want {
		t.Errorf("side file\n%s\nwant\n%s", got, want)
	}
}

func TestParseSchemaErrors(t *testing.T) {
	for _, tt := range []struct{ spec, want string }{
		{"a,,b", `field 2 "" has no name (want NAME[:TYPE])`},
		{"a,a", `field "a" appears twice`},
		{"a:money", `field "a": unknown type "money" (want string, int, decimal, float, bool, date(LAYOUT) or time(LAYOUT))`},
		{"a:int(3)", `field "a": type "int(3)": only date and time take a layout`},
		{"a:date(Jan 2, 2006", `field "a": type "date(Jan 2, 2006": a layout ends with ")"`},
	} {
		_, err := parseSchema(tt.spec)
		if err == nil || err.Error() != tt.want {
			t.Errorf("%q: got %v, want %s", tt.spec, err, tt.want)
		}
	}
	f, err := parseSchema("d:date(Jan 2, 2006),t:time")
	if err != nil || len(f) != 2 || f[0].layout != "Jan 2, 2006" {
		t.Errorf("layout with a comma: %+v, %v", f, err)
	}
	var out collect
	op := newStage(t, Parse, nil, "--csv", "d:date(Jan 2, 2006)").(stage.Operator)
	if err := op.Process(context.Background(), batch(1000, []string{`"Mar 9, 2024"`}), &out); err != nil {
		t.Fatal(err)
	}
	if got := renderBatches(out); got != "{\"d\":\"2024-03-09\"}\n--\n" {
		t.Errorf("got %s", got)
	}
}
