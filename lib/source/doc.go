// Package source holds the back ends of the produce stage: each turns some
// input (lines from files or stdin, a queue of files, frame files, a socket,
// a watched directory, a generator) into batches.
//
// The hot path reads big chunks and splits them with bytes.IndexByte; a
// plain line of a big read goes into its batch in place (the read buffer
// is held until the batch's chunk is out), any other is copied once into
// an arena that belongs to its batch. Arenas, record slices and batches
// are reused after Emit returns, so reading allocates nothing per record
// (DESIGN.md, "Scale").
//
// Wall-clock logic goes through a stage.Clock, so tests drive it with a
// stage.FakeClock instead of sleeping.
package source
