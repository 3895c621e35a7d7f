package ops

import (
	"dstream/lib/stage"

	"github.com/urfave/cli/v2"
)

// KeyBy is Spark's RDD.keyBy (DStream.map(x => (f(x), x))), with --value
// for map(x => (f(x), g(x))).
var KeyBy = &stage.Spec{
	Name:      "keyby",
	Usage:     "key every record by an expression's result (Spark's keyBy)",
	ArgsUsage: "EXPR",
	Description: `keyby EXPR makes every record the keyed record KEY<TAB>VALUE, where KEY is the
text of EXPR's result (github.com/expr-lang/expr) and VALUE is the text of
--value EXPR's result, or the record's value as it was. A record's old key,
if any, is replaced. A nil key or value is an error.
` + exprHelp + `
Examples:
   produce --queue words.txt | keyby value --value 1 | sink
   ... | parse --csv 'id:int,date:date(01/02/2006),account_number,amount:decimal,description' \
       | keyby 'value.account_number' --value 'value.amount' | sink`,
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "value", Usage: "the new value: the text of `EXPR`'s result (default: the value as it was)"},
		unparsableFlag,
		parallelismFlag,
	},
	MinArgs: 1, MaxArgs: 1,
	Kind: stage.KindOperator,
	New:  func(c *stage.Context) (any, error) { return newExprOp(c, kindKeyBy) },
}
