package ops

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"dstream/lib/checkpoint"
	"dstream/lib/frame"
	"dstream/lib/stage"
)

// Remember is Spark's DStream.remember, made visible: the batches it keeps
// are files that slice reads.
var Remember = &stage.Spec{
	Name:      "remember",
	Usage:     "pass batches through and keep the last D of them for slice",
	ArgsUsage: "D",
	Description: `remember D passes every batch through unchanged (a batch in chunks chunk by
chunk) and keeps the batches of the last D, those whose times are in
(latest-D, latest], in its checkpoint directory DIR/ID/ (ID is --id, default
remember), so that 'slice FROM TO DIR' can query them outside the stream, as
Spark's DStream.slice does. D is a positive Go duration of whole ms; it need
not be a multiple of the batch interval.

Each batch is one file, batch-TIME.frames, holding its frames (its chunks
when it came in chunks, partitions and empty batches as they came, compressed
with --compress), written under a temporary name and renamed once the whole
batch is in: a reader never sees a torn file. Files are 0600, the directory
0700. A batch that falls out of the last D is deleted. remember.meta records
D for slice.

remember needs a real checkpoint directory (--checkpoint DIR or
DSTREAM_CHECKPOINT): with --ephemeral it would have nowhere to keep batches,
and it refuses to start.

Recovery: the checkpoint holds the kept batch times; the files are already
durable. A batch that leaves the window is deleted only once no checkpoint
that might still be restored (the committed one, and those taken since) needs
it, so a restart always finds the files of the checkpoint it restores; until
then the directory may hold a few batches older than D, which slice ignores.
On restart the directory is made to match the restored checkpoint: files of
later batches (written by the run that was killed) are removed, and the
replay writes them again, identical. If the restarted run ends before it gets
that far (its input ends earlier, or it is stopped), they stay removed: the
directory never holds a batch the pipeline has not processed since its
checkpoint. Without a committed checkpoint a start is a fresh start, and
batch files left by an earlier run are removed.

Example:
   produce --batch 1s --queue a.txt b.txt c.txt | remember 3s --checkpoint ck | sink --with-time
   slice 2000 3000 ck | sink --with-time`,
	MinArgs: 1, MaxArgs: 1,
	Kind:     stage.KindOperator,
	Stateful: true,
	New:      newRemember,
}

// Files in remember's directory.
const (
	rememberMeta      = "remember.meta"
	rememberPrefix    = "batch-"
	rememberSuffix    = ".frames"
	rememberMetaMagic = "dstream-remember"
	// rememberVersion is the version of remember.meta and of the snapshot.
	rememberVersion = 1
	// maxMarks bounds the checkpoints remember protects files for while it
	// waits for a commit. Commits trail barriers by one or two; a run whose
	// sink never commits (no --checkpoint on it) would otherwise keep every
	// expired batch for ever.
	maxMarks = 16
)

func rememberFileName(t int64) string {
	return rememberPrefix + strconv.FormatInt(t, 10) + rememberSuffix
}

// parseRememberFile returns the batch time of a batch file's name.
func parseRememberFile(name string) (int64, bool) {
	s, ok := strings.CutPrefix(name, rememberPrefix)
	if !ok {
		return 0, false
	}
	if s, ok = strings.CutSuffix(s, rememberSuffix); !ok {
		return 0, false
	}
	t, err := strconv.ParseInt(s, 10, 64)
	if err != nil || rememberFileName(t) != name {
		return 0, false // "batch-01.frames" is not ours
	}
	return t, true
}

// isRememberTemp tells a temporary file that a killed run left behind
// (checkpoint.CreateAtomic's ".NAME.tmpRANDOM").
func isRememberTemp(name string) bool {
	return strings.HasPrefix(name, "."+rememberPrefix) && strings.Contains(name, rememberSuffix+".tmp")
}

// mark is a checkpoint remember has passed: restoring it needs the files of
// the batches in (latest-keep, latest].
type mark struct {
	id     uint64
	latest int64
	empty  bool // nothing was kept: restoring it needs no file
}

type remember struct {
	dir      *checkpoint.Dir
	keep     int64 // D in ms
	codec    frame.Codec
	maxFrame int
	log      *slog.Logger

	// kept are the times of the batch files in the directory, ascending:
	// the window (latest-keep, latest] and expired batches a checkpoint
	// still needs.
	kept   []int64
	latest int64 // the last whole batch, when seen
	seen   bool
	// marks are the checkpoints passed that a restart may still restore.
	marks    []mark
	restored bool
	started  bool
	warned   bool // about maxMarks

	file *checkpoint.AtomicFile // the batch being written
	at   int64                  // its time
	// w writes frames to file; one Writer for every file keeps its
	// buffers from batch to batch.
	w *frame.Writer
}

// fileOf is the io.Writer of remember's frame Writer: the current file.
type fileOf struct{ r *remember }

func (f fileOf) Write(p []byte) (int, error) { return f.r.file.Write(p) }

func newRemember(c *stage.Context) (any, error) {
	arg := c.Args().First()
	d, err := time.ParseDuration(arg)
	if err != nil || d <= 0 || d%time.Millisecond != 0 {
		return nil, stage.Usagef("duration %q: want a positive Go duration of whole milliseconds, like 3s or 1500ms", arg)
	}
	if c.Checkpoint == nil {
		return nil, stage.Usagef("remember keeps batches in its checkpoint directory for slice to read, which --ephemeral cannot give: give --checkpoint DIR or set %s", stage.EnvCheckpoint)
	}
	r := &remember{dir: c.Checkpoint, keep: d.Milliseconds(), codec: c.Compress, maxFrame: c.MaxFrameSize, log: c.Log}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	meta := fmt.Sprintf("%s %d keep-ms %d\n", rememberMetaMagic, rememberVersion, r.keep)
	if err := c.Checkpoint.WriteFile(rememberMeta, []byte(meta)); err != nil {
		return nil, fmt.Errorf("writing %s: %w", filepath.Join(c.Checkpoint.Path, rememberMeta), err)
	}
	return r, nil
}

func (r *remember) path(name string) string { return filepath.Join(r.dir.Path, name) }

// start makes the directory match the state, before the first batch: a
// fresh start or a restart must not serve batches the pipeline has not
// (re)processed, nor leave a killed run's temporary files.
func (r *remember) start() error {
	if r.started {
		return nil
	}
	r.started = true
	entries, err := os.ReadDir(r.dir.Path)
	if err != nil {
		return err
	}
	present := make(map[int64]bool, len(r.kept))
	for _, e := range entries {
		name := e.Name()
		t, ok := parseRememberFile(name)
		switch {
		case ok && r.isKept(t):
			present[t] = true
			continue
		case !ok && !isRememberTemp(name):
			continue // snapshots, remember.meta
		}
		if err := r.dir.Remove(name); err != nil {
			return err
		}
	}
	var missing []int64
	kept := r.kept[:0]
	for _, t := range r.kept {
		if present[t] {
			kept = append(kept, t)
		} else {
			missing = append(missing, t)
		}
	}
	r.kept = kept
	if len(missing) > 0 {
		// Only a hand can do this: remember deletes no file a checkpoint
		// needs. The data went downstream; only slice is poorer.
		r.log.Warn("batch files of the restored checkpoint are missing (removed by hand?): slice will not find these batches", "dir", r.dir.Path, "times", fmt.Sprint(missing))
	}
	if r.restored {
		n, ok, err := r.dir.Committed()
		if err != nil {
			return err
		}
		if !ok {
			n = 0
		}
		r.marks = append(r.marks[:0], mark{id: n, latest: r.latest, empty: !r.seen})
	}
	return nil
}

func (r *remember) isKept(t int64) bool {
	_, found := slices.BinarySearch(r.kept, t)
	return found
}

func (r *remember) Process(_ context.Context, b *frame.Batch, out stage.Emitter) error {
	if err := r.start(); err != nil {
		return err
	}
	if r.file == nil {
		if r.seen && b.Time <= r.latest {
			return fmt.Errorf("batch %d comes after batch %d: batch times must increase", b.Time, r.latest)
		}
		f, err := checkpoint.CreateAtomic(r.path(rememberFileName(b.Time)), 0o600)
		if err != nil {
			return fmt.Errorf("keeping batch %d: %w", b.Time, err)
		}
		r.file, r.at = f, b.Time
		if r.w == nil {
			r.w = frame.NewWriter(fileOf{r}, r.codec, r.maxFrame)
		}
	}
	if err := r.w.WriteBatch(b); err != nil {
		r.Close()
		r.w = nil // its error sticks
		return fmt.Errorf("keeping batch %d: %w", b.Time, err)
	}
	if err := out.Emit(b); err != nil {
		return err
	}
	if b.More {
		return nil
	}
	f := r.file
	r.file = nil
	if err := f.Commit(); err != nil {
		return fmt.Errorf("keeping batch %d: %w", b.Time, err)
	}
	r.kept = append(r.kept, b.Time)
	r.latest, r.seen = b.Time, true
	return r.expire()
}

// expire deletes the files of the batches that have left the window and
// that no checkpoint a restart may restore still needs.
func (r *remember) expire() error {
	horizon := r.latest - r.keep
	if len(r.kept) == 0 || r.kept[0] > horizon {
		return nil // nothing has left the window
	}
	if err := r.dropMarks(); err != nil {
		return err
	}
	kept := r.kept[:0]
	for i, t := range r.kept {
		if t > horizon {
			kept = append(kept, r.kept[i:]...)
			break
		}
		if r.needed(t) {
			kept = append(kept, t)
			continue
		}
		if err := r.dir.Remove(rememberFileName(t)); err != nil {
			r.kept = append(kept, r.kept[i:]...)
			return fmt.Errorf("deleting batch %d: %w", t, err)
		}
	}
	r.kept = kept
	return nil
}

// dropMarks forgets the checkpoints older than the committed one: they are
// never restored.
func (r *remember) dropMarks() error {
	if len(r.marks) == 0 {
		return nil
	}
	committed, ok, err := r.dir.Committed()
	if err != nil || !ok {
		return err
	}
	i := 0
	for i < len(r.marks) && r.marks[i].id < committed {
		i++
	}
	r.marks = slices.Delete(r.marks, 0, i)
	return nil
}

// needed tells whether restoring one of the marks needs batch t's file.
func (r *remember) needed(t int64) bool {
	for _, m := range r.marks {
		if !m.empty && t > m.latest-r.keep && t <= m.latest {
			return true
		}
	}
	return false
}

// Barrier notes checkpoint b: until it is committed or superseded, the
// files it covers stay.
func (r *remember) Barrier(_ context.Context, b frame.Barrier) error {
	if err := r.start(); err != nil {
		return err
	}
	if err := r.dropMarks(); err != nil {
		return err
	}
	if len(r.marks) == maxMarks {
		if !r.warned {
			r.warned = true
			r.log.Warn("no checkpoint committed for many barriers (does the sink have --checkpoint?): expired batches are now deleted without waiting for a commit", "barriers", maxMarks)
		}
		r.marks = slices.Delete(r.marks, 0, 1)
	}
	r.marks = append(r.marks, mark{id: b.ID, latest: r.latest, empty: !r.seen})
	return r.expire()
}

// Finish deletes what a checkpoint committed meanwhile has released.
func (r *remember) Finish(context.Context, stage.Emitter) error {
	if err := r.start(); err != nil {
		return err
	}
	return r.expire()
}

// Close discards the file of a batch whose last chunk never came.
func (r *remember) Close() error {
	if r.file != nil {
		r.file.Abort()
		r.file = nil
	}
	return nil
}

// The snapshot: uvarint version, uvarint count, then the kept batch times
// (the window (latest-D, latest]) as varints, ascending. The last is latest.
func (r *remember) Snapshot(w io.Writer) error {
	if r.file != nil {
		return fmt.Errorf("internal error: snapshot inside batch %d", r.at)
	}
	var window []int64
	for _, t := range r.kept {
		if t > r.latest-r.keep {
			window = append(window, t)
		}
	}
	buf := binary.AppendUvarint(nil, rememberVersion)
	buf = binary.AppendUvarint(buf, uint64(len(window)))
	for _, t := range window {
		buf = binary.AppendVarint(buf, t)
	}
	_, err := w.Write(buf)
	return err
}

var errRememberSnapshot = errors.New("remember snapshot")

func (r *remember) Restore(rd io.Reader) error {
	data, err := io.ReadAll(rd)
	if err != nil {
		return err
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", errRememberSnapshot, fmt.Sprintf(format, args...))
	}
	p := bytes.NewReader(data)
	v, err := binary.ReadUvarint(p)
	if err != nil {
		return bad("no version")
	}
	if v != rememberVersion {
		return bad("version %d, want %d", v, rememberVersion)
	}
	n, err := binary.ReadUvarint(p)
	if err != nil {
		return bad("no batch count")
	}
	if n > uint64(p.Len()) { // a varint takes a byte at least
		return bad("%d batch times cannot fit in %d bytes", n, p.Len())
	}
	kept := make([]int64, 0, n)
	for i := uint64(0); i < n; i++ {
		t, err := binary.ReadVarint(p)
		if err != nil {
			return bad("batch time %d of %d is cut short", i+1, n)
		}
		if i > 0 && t <= kept[i-1] {
			return bad("batch time %d is not after %d", t, kept[i-1])
		}
		kept = append(kept, t)
	}
	if p.Len() != 0 {
		return bad("%d bytes after the last batch time", p.Len())
	}
	r.kept, r.restored = kept, true
	if n > 0 {
		r.latest, r.seen = kept[n-1], true
		// A shorter D than the checkpoint's keeps less; start deletes the rest.
		i := 0
		for kept[i] <= r.latest-r.keep {
			i++
		}
		r.kept = kept[i:]
	}
	return nil
}
