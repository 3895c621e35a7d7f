package ops

import "dstream/lib/stage"

// RightOuterJoin is Spark's PairDStreamFunctions.rightOuterJoin.
var RightOuterJoin = &stage.Spec{
	Name:      "rightouterjoin",
	Usage:     "join stdin's keyed records with another stream's, keeping every right record: KEY [v,w] or [null,w]",
	ArgsUsage: "OTHER",
	Description: `rightouterjoin OTHER is join OTHER that keeps every record of OTHER (the right
side): a right record whose key stdin's batch of the same time lacks gives
KEY [null,w] (Spark's (None, w)); one with matches gives KEY [v,w] for each.

Order: the mirror of leftouterjoin: for each right record in batch order,
its matching left records in batch order (or its one [null,w]). The output
has OTHER's partitions: a record goes to its right record's partition.
` + alignNotes + `

Example:
   produce --batch 1s --keyed --queue names1.txt names2.txt > names.frames
   produce --batch 1s --keyed --queue orders1.txt orders2.txt | rightouterjoin names.frames | sink`,
	MinArgs: 1, MaxArgs: 1,
	Kind: stage.KindMulti,
	New:  newJoin(rightOuterJoin),
}
