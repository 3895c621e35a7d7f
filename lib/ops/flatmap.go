package ops

import (
	"dstream/lib/stage"

	"github.com/urfave/cli/v2"
)

// FlatMap is Spark's DStream.flatMap.
var FlatMap = &stage.Spec{
	Name:      "flatmap",
	Usage:     "replace every record by the elements of a list an expression gives (Spark's flatMap)",
	ArgsUsage: "EXPR",
	Description: `flatmap EXPR evaluates EXPR (github.com/expr-lang/expr), which must give a list,
for every record and makes one record of each element, in list order, where
the record was (an empty list drops the record). As with map, an element is
the new value of an unkeyed record, unless --keep-key keeps the key of a
keyed record or the element is pair(K, V), which makes the keyed record
K<TAB>V. A result that is not a list, or a nil element, is an error.
` + exprHelp + `
Examples:
   produce --queue lines.txt | flatmap 'split(value, " ")' | sink
   produce --queue lines.txt | flatmap 'map(split(value, " "), pair(#, 1))' | sink`,
	Flags:   []cli.Flag{keepKeyFlag, unparsableFlag, parallelismFlag},
	MinArgs: 1, MaxArgs: 1,
	Kind: stage.KindOperator,
	New:  func(c *stage.Context) (any, error) { return newExprOp(c, kindFlatMap) },
}
