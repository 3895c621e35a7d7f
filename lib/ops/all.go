// Package ops holds one file per stage: its flags, its usage text with an
// example, and its operator. All is the table of every stage.
package ops

import "dstream/lib/stage"

// All lists every stage. The mains, the multi-call binary, --help and the
// tests read it.
var All = []*stage.Spec{
	Produce,
	Sink,
	Print,
	Repartition,
	Transform,
	MapPartitions,
	Union,
	Join,
	LeftOuterJoin,
	RightOuterJoin,
	FullOuterJoin,
	Cogroup,
	TransformWith,
	Map,
	FlatMap,
	Filter,
	KeyBy,
	MapValues,
	FlatMapValues,
	Parse,
	Count,
	CountByValue,
	Reduce,
	Glom,
	GroupByKey,
	ReduceByKey,
	CombineByKey,
	Remember,
	Slice,
	UpdateStateByKey,
	MapWithState,
	Window,
	CountByWindow,
	ReduceByWindow,
	ReduceByKeyAndWindow,
	CountByValueAndWindow,
	GroupByKeyAndWindow,
}
