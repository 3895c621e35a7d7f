package ops

import (
	"dstream/lib/stage"

	"github.com/urfave/cli/v2"
)

// FlatMapValues is Spark's PairDStreamFunctions.flatMapValues.
var FlatMapValues = &stage.Spec{
	Name:      "flatmapvalues",
	Usage:     "replace every keyed record by one per element of an expression's list, same key (Spark's flatMapValues)",
	ArgsUsage: "EXPR",
	Description: `flatmapvalues EXPR evaluates EXPR (github.com/expr-lang/expr), which must give a
list, for every keyed record and makes one record KEY<TAB>ELEMENT of each
element, in list order, with the record's key (an empty list drops the
record). An unkeyed record, a result that is not a list and a nil element are
errors.
` + exprHelp + `
Example:
   produce --keyed --queue counts.txt | flatmapvalues '[int(value), int(value) + 10]' | sink`,
	Flags:   []cli.Flag{unparsableFlag, parallelismFlag},
	MinArgs: 1, MaxArgs: 1,
	Kind: stage.KindOperator,
	New:  func(c *stage.Context) (any, error) { return newExprOp(c, kindFlatMapValues) },
}
