package ops

import (
	"dstream/lib/stage"

	"github.com/urfave/cli/v2"
)

// Filter is Spark's DStream.filter.
var Filter = &stage.Spec{
	Name:      "filter",
	Usage:     "keep the records for which an expression is true (Spark's filter)",
	ArgsUsage: "EXPR",
	Description: `filter EXPR keeps the records for which EXPR (github.com/expr-lang/expr) gives
true, unchanged and in input order, and drops those for which it gives false.
Any other result (a string, a number, nil) is an error naming its type.
` + exprHelp + `
Examples:
   produce --queue a.txt | filter 'int(value) % 2 == 0' | sink
   produce --keyed --queue a.txt | filter 'key startsWith "user-"' | sink
   ... | parse --csv 'id:int,amount:decimal' | filter 'value.amount > 100' | sink`,
	Flags:   []cli.Flag{unparsableFlag, parallelismFlag},
	MinArgs: 1, MaxArgs: 1,
	Kind: stage.KindOperator,
	New:  func(c *stage.Context) (any, error) { return newExprOp(c, kindFilter) },
}
