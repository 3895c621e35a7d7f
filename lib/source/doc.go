// Package source holds the back ends of the produce stage: each turns some
// input (lines from files or stdin, a queue of files, frame files, a socket,
// a watched directory, a generator) into batches.
//
// The hot path reads big chunks, splits them with bytes.IndexByte and copies
// each line once into an arena that belongs to its batch; arenas, record
// slices and batches are reused after Emit returns, so reading allocates
// nothing per record (DESIGN.md, "Scale").
//
// Wall-clock logic goes through a stage.Clock, so tests drive it with a
// stage.FakeClock instead of sleeping.
package source
