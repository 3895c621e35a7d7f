package ops

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"dstream/lib/frame"
	"dstream/lib/stage"
)

// Slice is Spark's DStream.slice over the batches remember keeps.
var Slice = &stage.Spec{
	Name:      "slice",
	Usage:     "emit the batches remember kept for a time range",
	ArgsUsage: "FROM TO DIR",
	Description: `slice FROM TO DIR emits the batches that 'remember' keeps in the checkpoint
directory DIR whose times are in [FROM, TO], both ends included, in time order,
as frames for any other stage to query, then ends (EOS): Spark's
DStream.slice, the seed's "run queries against the underlying data outside of
the stream logic". Batches keep their partitions, chunks and empty batches.

FROM and TO are ms since the epoch (1700000001000) or RFC 3339 times
(2023-11-14T22:13:21Z, 2023-11-14T23:13:21.5+01:00). As Spark does, both are
floored to the batch interval (relative to the batch times): with 1 s
batches at 1000, 2000, ..., FROM 1500 starts at the batch of 1000, TO 3999
ends at the batch of 3000.

DIR is the checkpoint directory remember was given (--checkpoint); its
batches are in DIR/ID, ID being --id (default remember, as remember's own
default). When --id is not given and DIR/remember is not a remember
directory, DIR itself may be one (the stage directory). Only the batches
remember still keeps, the last D of them, are seen: older files waiting for a
checkpoint to commit are ignored. slice reads while remember writes: every
file is renamed into place whole, and a batch that expires while slice runs
is skipped with a warning.

A range with no remembered batch gives no batches, a WARN line naming the
batches kept, and exit status 0. FROM after TO or a bad time is a usage error
(exit 2); a missing or foreign DIR, or a damaged batch file (the error names
the file and the byte offset), exits 1.

Examples:
   produce --batch 1s --queue a.txt b.txt c.txt | remember 3s --checkpoint ck | sink
   slice 2000 3000 ck | sink --with-time
   slice 2023-11-14T22:13:21Z 2023-11-14T22:13:25Z ck --id clicks | countbyvalue | print`,
	MinArgs: 3, MaxArgs: 3,
	Kind: stage.KindSource,
	New:  newSlice,
}

type slice struct {
	from, to int64
	dir      string // remember's stage directory
	keep     int64  // remember's D, ms
	maxFrame int
	log      *slog.Logger

	interval int64 // of the batches emitted so far
	last     string
}

func newSlice(c *stage.Context) (any, error) {
	args := c.Args().Slice()
	from, err := parseSliceTime("FROM", args[0])
	if err != nil {
		return nil, err
	}
	to, err := parseSliceTime("TO", args[1])
	if err != nil {
		return nil, err
	}
	if from > to {
		return nil, stage.Usagef("FROM %s is after TO %s: want FROM <= TO", args[0], args[1])
	}
	id, idSet := c.String(stage.FlagID), true
	if id == "" {
		id, idSet = Remember.Name, false
	}
	dir, keep, err := findRememberDir(args[2], id, idSet)
	if err != nil {
		return nil, err
	}
	s := &slice{from: from, to: to, dir: dir, keep: keep, maxFrame: c.MaxFrameSize, log: c.Log}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s, nil
}

// parseSliceTime parses ms since the epoch or an RFC 3339 time.
func parseSliceTime(what, s string) (int64, error) {
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
		return ms, nil
	}
	// time.RFC3339 also parses fractional seconds; below a ms they are
	// floored with the rest.
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UnixMilli(), nil
	}
	return 0, stage.Usagef("%s %q: want ms since the epoch (like 1700000001000) or an RFC 3339 time (like 2023-11-14T22:13:21Z)", what, s)
}

// findRememberDir returns remember's stage directory in root (root/id, or
// root itself when id was not given) and its D.
func findRememberDir(root, id string, idSet bool) (string, int64, error) {
	if fi, err := os.Stat(root); err != nil || !fi.IsDir() {
		if err == nil || errors.Is(err, fs.ErrNotExist) {
			return "", 0, fmt.Errorf("checkpoint directory %s: no such directory (want the --checkpoint DIR remember ran with)", root)
		}
		return "", 0, err
	}
	candidates := []string{filepath.Join(root, id)}
	if !idSet {
		candidates = append(candidates, root)
	}
	for _, dir := range candidates {
		keep, ok, err := readRememberMeta(dir)
		if err != nil {
			return "", 0, err
		}
		if ok {
			return dir, keep, nil
		}
	}
	return "", 0, fmt.Errorf("%s is not a remember directory (no %s): want the --checkpoint DIR remember ran with, and its --id if it had one", candidates[0], rememberMeta)
}

// readRememberMeta reads dir's remember.meta; ok is false when it has none.
func readRememberMeta(dir string) (keep int64, ok bool, err error) {
	name := filepath.Join(dir, rememberMeta)
	data, err := os.ReadFile(name)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	f := strings.Fields(string(data))
	if len(f) == 4 && f[0] == rememberMetaMagic && f[1] == strconv.Itoa(rememberVersion) && f[2] == "keep-ms" {
		if keep, err := strconv.ParseInt(f[3], 10, 64); err == nil && keep > 0 {
			return keep, true, nil
		}
	}
	return 0, false, fmt.Errorf("%s: not a remember file of version %d (want %q)", name, rememberVersion, fmt.Sprintf("%s %d keep-ms N", rememberMetaMagic, rememberVersion))
}

func (s *slice) Run(ctx context.Context, out stage.Emitter) error {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return err
	}
	var times []int64
	for _, e := range entries {
		if t, ok := parseRememberFile(e.Name()); ok {
			times = append(times, t)
		}
	}
	slices.Sort(times)
	if len(times) > 0 {
		// Older files wait for a checkpoint to commit; remember no longer
		// keeps them.
		latest := times[len(times)-1]
		i := 0
		for times[i] <= latest-s.keep {
			i++
		}
		times = times[i:]
	}
	emitted := 0
	for i, t := range times {
		if t > s.to {
			break
		}
		// FROM is floored to the batch interval: the batch just before
		// FROM is in when FROM falls inside its interval.
		floorOnly := t < s.from
		if floorOnly && (i+1 < len(times) && times[i+1] <= s.from) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		ok, err := s.emitFile(out, t, floorOnly)
		if err != nil {
			return err
		}
		if ok {
			emitted++
		}
	}
	if emitted == 0 {
		kept := "none"
		if len(times) > 0 {
			kept = fmt.Sprintf("%d..%d", times[0], times[len(times)-1])
		}
		s.log.Warn("no remembered batch in the range", "from", s.from, "to", s.to, "kept", kept, "dir", s.dir)
	}
	return nil
}

// emitFile emits the batch of time t from its file. With floorOnly, the
// batch is emitted only when FROM falls inside its interval.
func (s *slice) emitFile(out stage.Emitter, t int64, floorOnly bool) (bool, error) {
	name := filepath.Join(s.dir, rememberFileName(t))
	f, err := os.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		s.log.Warn("a batch expired while slice read the directory; it is skipped", "time", t, "dir", s.dir)
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer f.Close()
	rd := frame.NewReader(f, s.maxFrame)
	frames, more := 0, false
	for {
		at := rd.Offset()
		fr, err := rd.Next()
		if err == io.EOF {
			switch {
			case frames == 0:
				return false, fmt.Errorf("%s holds no batch (an empty file; remember writes at least one frame)", name)
			case more:
				return false, fmt.Errorf("%s ends inside batch %d at byte offset %d: its last chunk is missing", name, t, at)
			}
			return true, nil
		}
		if err != nil {
			return false, fmt.Errorf("%s: %w", name, err)
		}
		switch {
		case fr.Type != frame.TypeBatch:
			return false, fmt.Errorf("%s: %s frame at byte offset %d: a batch file holds BATCH frames only", name, fr.Type, at)
		case frames > 0 && !more:
			return false, fmt.Errorf("%s: frame at byte offset %d after the last chunk of batch %d", name, at, t)
		case fr.Batch.Time != t:
			return false, fmt.Errorf("%s: batch %d at byte offset %d, in the file of batch %d", name, fr.Batch.Time, at, t)
		case fr.Batch.Interval <= 0:
			return false, fmt.Errorf("%s: batch %d has an interval of %d ms, want > 0", name, t, fr.Batch.Interval)
		case s.interval != 0 && fr.Batch.Interval != s.interval:
			return false, fmt.Errorf("%s: batch %d has an interval of %d ms, but the batches before it (%s) have %d ms", name, t, fr.Batch.Interval, s.last, s.interval)
		}
		if frames == 0 && floorOnly && t+fr.Batch.Interval <= s.from {
			return false, nil
		}
		s.interval, s.last = fr.Batch.Interval, name
		if err := out.Emit(fr.Batch); err != nil {
			return false, err
		}
		frames, more = frames+1, fr.Batch.More
	}
}
