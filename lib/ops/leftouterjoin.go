package ops

import "dstream/lib/stage"

// LeftOuterJoin is Spark's PairDStreamFunctions.leftOuterJoin.
var LeftOuterJoin = &stage.Spec{
	Name:      "leftouterjoin",
	Usage:     "join stdin's keyed records with another stream's, keeping every left record: KEY [v,w] or [v,null]",
	ArgsUsage: "OTHER",
	Description: `leftouterjoin OTHER is join OTHER that keeps every record of stdin (the left
side): a left record whose key OTHER's batch of the same time lacks gives
KEY [v,null] (Spark's (v, None)); one with matches gives KEY [v,w] for each.

Order: for each left record in batch order, its matching right records in
batch order (or its one [v,null]). The output has stdin's partitions: a
record goes to its left record's partition.
` + alignNotes + `

Example:
   produce --batch 1s --keyed --queue names1.txt names2.txt > names.frames
   produce --batch 1s --keyed --queue orders1.txt orders2.txt | leftouterjoin names.frames | sink`,
	MinArgs: 1, MaxArgs: 1,
	Kind: stage.KindMulti,
	New:  newJoin(leftOuterJoin),
}
