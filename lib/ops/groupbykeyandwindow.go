package ops

import "dstream/lib/stage"

// GroupByKeyAndWindow is Spark's PairDStreamFunctions.groupByKeyAndWindow.
var GroupByKeyAndWindow = &stage.Spec{
	Name:      "groupbykeyandwindow",
	Usage:     "group the values of each key over a sliding window",
	ArgsUsage: "W[/S]",
	Description: `groupbykeyandwindow W/S gives, every S, one record per key that has values
in the input batches of the last W: KEY<TAB>[v1,v2,...], a JSON array of
the key's values in time order, then input order (as groupbykey does over
one batch). A value that is valid JSON (a number, array, object, true,
false, null) is embedded as is, anything else becomes a JSON string.

` + windowArgUsage + `

Each held batch keeps its values grouped by key, already as JSON, and an
output joins each key's groups of the window's batches. Records must be
keyed. Keys come in the order they entered the window's table (a key enters
with its first record while it has none in the window, and stays until its
last value leaves), the same after a restart from a checkpoint.
--partitions N spreads them by FNV-1a(key) mod N. An empty window gives an
empty batch.

Example (PySpark's test_group_by_key_and_window):
   produce --batch 500ms --keyed --queue 0.txt 1.txt 2.txt \
     | groupbykeyandwindow --ephemeral 1500ms/500ms | sink --with-time`,
	Flags:    keyedFlags(),
	MinArgs:  1,
	MaxArgs:  1,
	Kind:     stage.KindOperator,
	Stateful: true,
	New: func(c *stage.Context) (any, error) {
		w, err := newWindower(c, nil)
		if err != nil {
			return nil, err
		}
		parts, err := partitionsFlag(c)
		if err != nil {
			return nil, err
		}
		k := newKeyedWindow(c.Spec.Name, keyFromRecord, &Reducer{Fn: FnConcat, Sep: []byte(",")}, nil)
		k.group = true
		k.out.parts = parts
		w.c = k
		return w, nil
	},
}
