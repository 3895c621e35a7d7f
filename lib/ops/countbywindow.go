package ops

import "dstream/lib/stage"

// CountByWindow is Spark's DStream.countByWindow.
var CountByWindow = &stage.Spec{
	Name:      "countbywindow",
	Usage:     "count the records of a sliding window",
	ArgsUsage: "W[/S]",
	Description: `countbywindow W/S gives, every S, one unkeyed record: the number of records
in the input batches of the last W, in decimal. A window without records
gives 0, as Spark's countByWindow does. The output batch has one partition.

` + windowArgUsage + `

It keeps only the record count of each batch in the window, so its state
is tiny whatever the window.

Example (Spark's "countByWindow": 2s windows every 1s):
   produce --batch 1s --queue a.txt b.txt c.txt | countbywindow --ephemeral 2s/1s | sink --with-time`,
	MinArgs: 1, MaxArgs: 1,
	Kind:     stage.KindOperator,
	Stateful: true,
	New: func(c *stage.Context) (any, error) {
		h := &heldRecordCount{}
		w, err := newWindower(c, h)
		if err != nil {
			return nil, err
		}
		h.w = w
		return w, nil
	},
}
