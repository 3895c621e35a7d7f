package ops

import "dstream/lib/stage"

// Cogroup is Spark's PairDStreamFunctions.cogroup.
var Cogroup = &stage.Spec{
	Name:      "cogroup",
	Usage:     "group stdin's and another stream's keyed records by key, batch by batch: KEY [[v...],[w...]]",
	ArgsUsage: "OTHER",
	Description: `cogroup OTHER reads stdin (values v) and OTHER (values w) and, for each batch
time, emits one record per key found in either input's batch of that time:
KEY [[v...],[w...]], the key's values on each side in batch order (an empty
list for a side without the key).

Order: the keys of stdin in order of first appearance, each in the partition
of its first record, then the keys only OTHER has, in order of first
appearance, in the last partition. The output has stdin's partitions.
` + alignNotes + `

Example:
   produce --batch 1s --keyed --queue clicks1.txt clicks2.txt > clicks.frames
   produce --batch 1s --keyed --queue views1.txt views2.txt | cogroup clicks.frames | sink`,
	MinArgs: 1, MaxArgs: 1,
	Kind: stage.KindMulti,
	New:  newJoin(coGroup),
}
