package ops

import "dstream/lib/stage"

// Join is Spark's PairDStreamFunctions.join.
var Join = &stage.Spec{
	Name:      "join",
	Usage:     "join stdin's keyed records with another stream's, batch by batch: KEY [v,w]",
	ArgsUsage: "OTHER",
	Description: `join OTHER reads stdin (the left side, values v) and OTHER (a file of frames, a
named pipe, or <(...) in bash; the right side, values w) and, for each batch
time, emits every pair of records with equal keys in the two inputs' batches
of that time, as KEY [v,w]: all pairs per key, as Spark's join.

Order: for each left record in batch order, its matching right records in
batch order. The output has stdin's partitions: a pair goes to its left
record's partition. Keys with no match on either side give nothing.
` + alignNotes + `

Example:
   produce --batch 1s --keyed --queue names1.txt names2.txt > names.frames
   produce --batch 1s --keyed --queue orders1.txt orders2.txt | join names.frames | sink --with-time`,
	MinArgs: 1, MaxArgs: 1,
	Kind: stage.KindMulti,
	New:  newJoin(innerJoin),
}
