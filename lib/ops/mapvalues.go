package ops

import (
	"dstream/lib/stage"

	"github.com/urfave/cli/v2"
)

// MapValues is Spark's PairDStreamFunctions.mapValues.
var MapValues = &stage.Spec{
	Name:      "mapvalues",
	Usage:     "replace every keyed record's value by an expression's result (Spark's mapValues)",
	ArgsUsage: "EXPR",
	Description: `mapvalues EXPR gives every keyed record the value EXPR's result
(github.com/expr-lang/expr) and keeps its key. An unkeyed record is an error
(use keyby first), and so is a nil result.
` + exprHelp + `
Example:
   produce --keyed --queue counts.txt | mapvalues 'int(value) + 10' | sink`,
	Flags:   []cli.Flag{unparsableFlag, parallelismFlag},
	MinArgs: 1, MaxArgs: 1,
	Kind: stage.KindOperator,
	New:  func(c *stage.Context) (any, error) { return newExprOp(c, kindMapValues) },
}
