package ops

import "dstream/lib/stage"

// CountByValueAndWindow is Spark's DStream.countByValueAndWindow.
var CountByValueAndWindow = &stage.Spec{
	Name:      "countbyvalueandwindow",
	Usage:     "count the distinct records of a sliding window",
	ArgsUsage: "W[/S]",
	Description: `countbyvalueandwindow W/S gives, every S, one keyed record per distinct
element of the input batches of the last W: ELEMENT<TAB>COUNT, as
countbyvalue does over one batch. An unkeyed record's element is its value;
a keyed record's element is the pair, written KEY<TAB>VALUE, so the output
line is KEY<TAB>VALUE<TAB>COUNT.

` + windowArgUsage + `

Counts are kept up to date as batches enter and leave the window (Spark's
countByValueAndWindow reduces with an inverse function), and an element no
longer in the window disappears: no zero counts. Elements come in the order
they entered the window's table (an element enters with its first record
while the window has none of it, and stays until its last one leaves), the
same after a restart from a checkpoint. --partitions N spreads them by
FNV-1a(element) mod N. An empty window gives an empty batch.

Example (Spark's "countByValueAndWindow"):
   produce --batch 1s --queue a.txt b.txt c.txt | countbyvalueandwindow --ephemeral 2s/1s | sink --with-time`,
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
		k := newKeyedWindow(c.Spec.Name, keyFromElement, &Reducer{Fn: FnCount}, nil)
		k.out.parts = parts
		w.c = k
		return w, nil
	},
}
