package ops

import (
	"dstream/lib/stage"

	"github.com/urfave/cli/v2"
)

// ReduceByWindow is Spark's DStream.reduceByWindow.
var ReduceByWindow = &stage.Spec{
	Name:      "reducebywindow",
	Usage:     "reduce the values of a sliding window to one",
	ArgsUsage: "W[/S] [FN]",
	Description: `reducebywindow W/S FN gives, every S, one unkeyed record: the values of the
input batches of the last W reduced with FN, as reduce does over one batch:
  sum     exact decimal sum          count  number of values
  min     smallest number            max    largest number
  concat  values joined with --sep   first, last  first or last value
--expr EXPR reduces with an expression over a and b instead (a + b); it is
applied to each batch, then to the batches' results in time order (Spark's
reduce(f).window(W, S).reduce(f)), so f must be associative.

` + windowArgUsage + `

Keys are ignored: keyed records reduce by their values. sum and count are
kept up to date as batches enter and leave the window. A window without
values gives an empty batch (Spark's reduce has no value to give). The
output batch has one partition.

Example (Spark's JavaAPISuite testReduceByWindow):
   produce --batch 1s --queue a.txt b.txt c.txt | reducebywindow --ephemeral 2s/1s sum | sink --with-time`,
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "sep", Value: ",", Usage: "concat's separator `SEP`"},
		&cli.StringFlag{Name: "expr", Usage: "reduce with expression `EXPR` over a and b (a + b) instead of FN"},
	},
	MinArgs: 1, MaxArgs: 2,
	Kind:     stage.KindOperator,
	Stateful: true,
	New: func(c *stage.Context) (any, error) {
		w, err := newWindower(c, nil)
		if err != nil {
			return nil, err
		}
		red, ex, err := windowReducerArgs(c)
		if err != nil {
			return nil, err
		}
		w.c = newKeyedWindow(c.Spec.Name, keyNone, red, ex)
		return w, nil
	},
}
