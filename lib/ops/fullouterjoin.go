package ops

import "dstream/lib/stage"

// FullOuterJoin is Spark's PairDStreamFunctions.fullOuterJoin.
var FullOuterJoin = &stage.Spec{
	Name:      "fullouterjoin",
	Usage:     "join stdin's keyed records with another stream's, keeping every record of both: KEY [v,w], [v,null] or [null,w]",
	ArgsUsage: "OTHER",
	Description: `fullouterjoin OTHER is join OTHER that keeps every record of both sides: a left
(stdin) record with no match gives KEY [v,null], a right (OTHER) record with
no match KEY [null,w] (Spark's None for the missing side).

Order: as leftouterjoin (for each left record in batch order, its matching
right records in batch order, or [v,null]), then the right records whose key
the left batch lacks, in batch order. The output has stdin's partitions: a
record goes to its left record's partition, and the right-only records to
the last partition.
` + alignNotes + `

Example:
   produce --batch 1s --keyed --queue names1.txt names2.txt > names.frames
   produce --batch 1s --keyed --queue orders1.txt orders2.txt | fullouterjoin names.frames | sink`,
	MinArgs: 1, MaxArgs: 1,
	Kind: stage.KindMulti,
	New:  newJoin(fullOuterJoin),
}
