// Package expr compiles and runs the expressions of DESIGN.md's
// "Functions" (github.com/expr-lang/expr) over records.
//
// An expression is compiled once and run per record with the variables
// key, value and time (or, for other stages, the names they declare). The
// rules a user sees:
//
//   - key is the record's key as a string, nil for an unkeyed record.
//   - value is the record's text as a string, so int(value), float(value)
//     and split(value, ",") work, except that a value whose text is a JSON
//     object or array (what parse, join, groupbykey and glom produce) is
//     given decoded: value.amount, value[0], len(value). In a decoded value
//     a JSON number with no fraction or exponent that fits int64 is an int,
//     any other number a float64; strings, true, false and null are Go's.
//   - time is the batch time in ms since the epoch, an int.
//
// Results become record text by AppendText: a string as is, an integer in
// decimal, a float as decimal text (see AppendFloat), true/false, a list or
// map as JSON. Functions added to expr's builtins: num, text, pair.
package expr

import (
	"errors"
	"fmt"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/file"
	exprtypes "github.com/expr-lang/expr/types"
	"github.com/expr-lang/expr/vm"
)

// Program is a compiled expression with its own VM and variables. It is not
// safe for concurrent use: give each goroutine its own (Clone).
type Program struct {
	src  string
	prog *vm.Program
	vm   vm.VM
	env  map[string]any
	// The time variable as last set (see RunRecord).
	time    int64
	timeSet bool
	boxes   *recordBoxes
	decoded any // the JSON value RunRecord last decoded, or nil
	fast    *fastPath
}

// RecordVars are the variables of a per-record expression.
var RecordVars = []string{"key", "value", "time"}

// Compile compiles src with the variables vars (each may hold any value;
// any other name is an error). The error is one line: the message and the
// column, without expr's source snippet.
func Compile(src string, vars ...string) (*Program, error) {
	env := make(map[string]any, len(vars))
	types := exprtypes.Map{}
	for _, v := range vars {
		env[v] = nil
		types[v] = exprtypes.Any // a value's type varies by record
	}
	opts := append([]expr.Option{expr.Env(types)}, functions...)
	prog, err := expr.Compile(src, opts...)
	if err != nil {
		return nil, oneLine(err)
	}
	return &Program{src: src, prog: prog, env: env}, nil
}

// MustCompile is Compile for expressions known to be valid (tests, tables).
func MustCompile(src string, vars ...string) *Program {
	p, err := Compile(src, vars...)
	if err != nil {
		panic(err)
	}
	return p
}

// Source returns the expression's text.
func (p *Program) Source() string { return p.src }

// Clone returns a Program that shares the compiled code but has its own VM
// and variables.
func (p *Program) Clone() *Program {
	env := make(map[string]any, len(p.env))
	for k := range p.env {
		env[k] = nil
	}
	return &Program{src: p.src, prog: p.prog, env: env, fast: p.fast}
}

// Set sets a variable for the next Run.
func (p *Program) Set(name string, v any) {
	p.env[name] = v
	if p.boxes != nil {
		*p.boxes = recordBoxes{key: p.boxes.key, value: p.boxes.value, keyAny: p.boxes.keyAny, valueAny: p.boxes.valueAny}
	}
}

// Run evaluates the expression with the variables set. A runtime error
// (a type error, an integer division by zero, a failed conversion) is
// returned as one line.
func (p *Program) Run() (any, error) {
	out, err := p.vm.Run(p.prog, p.env)
	if err != nil {
		return nil, oneLine(err)
	}
	return out, nil
}

// oneLine turns expr's error, which may carry a multi-line source snippet,
// into one line for a stage's stderr.
func oneLine(err error) error {
	var fe *file.Error
	if errors.As(err, &fe) {
		msg := strings.ReplaceAll(fe.Message, "\n", " ")
		if fe.Snippet != "" {
			msg += fmt.Sprintf(" (at column %d)", fe.Column+1)
		}
		return errors.New(msg)
	}
	return errors.New(strings.ReplaceAll(err.Error(), "\n", " "))
}

// TypeName names a result's type for error messages in the words of the
// expression language: string, int, float, bool, list, map, nil.
func TypeName(v any) string {
	switch v.(type) {
	case nil:
		return "nil"
	case string:
		return "string"
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return "int"
	case float32, float64:
		return "float"
	case bool:
		return "bool"
	case map[string]any:
		return "map"
	case Pair:
		return "pair"
	}
	if isList(v) {
		return "list"
	}
	return fmt.Sprintf("%T", v)
}
