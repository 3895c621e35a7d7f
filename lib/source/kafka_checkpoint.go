package source

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Checkpointed Kafka reading. Kafka can seek, so the Kafka source does not
// rewind to the start of its input as the other back ends do (see
// Checkpoints): it logs, for every batch, where each partition's reading
// stood when the batch ended, and a restart seeks there.
//
// kafka.log, in the source's checkpoint directory, has one line per batch,
// "T O1 O2 ... On": batch T took, of the i-th partition (the ranges'
// order: --topic order, then partition number), the records below offset
// Oi not taken by an earlier batch. The line is written before the batch's
// last chunk goes out, so a batch that went out is always in the log; it
// is fsynced before a checkpoint's record is written. Its first line is
// the start: "0 O1 ... On", where the first run started (--from), or,
// after a restart, the committed checkpoint's line. source-N's first line
// is "T LATESIZE O1,...,On": the offsets after checkpoint N's last batch.
//
// On a restart from checkpoint N every partition is read from N's
// offsets; the logged batches after N are cut again at their logged
// offsets, with their logged times (same records, same order, since a
// batch's order is by partition, then offset), and then the clock cuts,
// live. While replaying, each partition is read only up to its offset in
// the last logged batch, so what is held waiting for a slower partition
// stays within the logged batches. With no committed checkpoint but a
// log (a crash before the first commit), the replay starts at the start
// line. --from only matters when there is neither. An offset Kafka no
// longer has (retention) fails the restart, naming the partition and the
// offsets. Which records a batch holds is what a restart must repeat:
// produce's configuration (Config) leaves out how the cluster is reached,
// --from and --until-caught-up, and keeps the topics.
//
// Like batches.log, the log is fsynced only before a checkpoint's record:
// kill -9 loses nothing (the page cache has it), a machine crash may lose
// the lines of batches after the last checkpoint, which are then cut by
// the clock again.
//
// The log is cut back to the committed checkpoint's line when
// kafkaLogCompact lines before it have piled up: unlike a file, Kafka
// seeks, so nothing before the committed checkpoint is read again.
//
// A consumer group's member (kafka_group.go) logs every partition of the
// topics too, with -1 for one another member reads; its start line is
// moved to where its first generation started reading, and a restart
// replays the logged batches only when the group gives back each
// partition in them at the checkpoint's offset (replayFits).
//
// Event time (--event-time timestamp, kafka_eventtime.go) keeps no
// kafka.log. A batch goes out when the watermark passes it, so records
// read before it may wait for later batches: where reading stood is not
// where a restart must read from. source-N's first line is "T LATESIZE
// H1,...,Hn R1,...,Rn W1,...,Wn", as batch T went out: Hi, the lowest
// offset of partition i still waiting in a later batch (where reading
// stood, Ri, when none waits); Ri, where reading stood; Wi, the
// partition's watermark (-1: nothing read). A restart reads partition i
// from Hi; a record below Ri whose batch is at or before T went out then
// (or was late, and is in the --late file up to LATESIZE) and is skipped;
// the others wait for their batches again, and the watermarks start at
// Wi, so the batches after T are those of a run that never stopped.
// (When records are late, which ones are depends on how the reading of
// the partitions interleaves and on which were idle, in any run: a
// restart keeps the verdicts up to T and judges the later ones again.)
// The batches that went out after T before a crash are made again by the
// same rule, not replayed from a log: downstream stages restart from T
// too, and a sink writing a file per batch writes each again. With no
// committed checkpoint a restart starts where the first run did:
// kafka-start holds its offsets, "O1 ... On", written before it read.
// In a consumer group (kafka_event_group.go) the group gets Hi as the
// committed offset and "dstream-event Ri T Wi" as its metadata, -1 in the
// record standing for another member's partition; kafka-start is not
// used (the group's offsets, or --from, say where a first run starts).
type kafkaLog struct {
	cp   *Checkpoints
	path string
	f    *os.File
	// lines are the log's lines from the start line on.
	lines     []kafkaLine
	fileLines int // lines the file holds
	dirty     bool
	// replay holds the logged batches still to cut again after a restart.
	replay    []kafkaLine
	replaying bool    // the batch going out is a replayed one: it is logged already
	startTime int64   // the start line's time: the committed checkpoint's batch, or 0
	pos       []int64 // where each partition's reading stands: what the batch going out took
	collected uint64
}

type kafkaLine struct {
	time int64
	offs []int64
}

const kafkaLogName = "kafka.log"

// kafkaLogCompact is how many lines before the committed checkpoint's
// kafka.log may hold before it is cut back (a variable for tests).
var kafkaLogCompact = 4096

// openKafkaLog reads kafka.log and makes it cp's batch log.
func openKafkaLog(cp *Checkpoints) (*kafkaLog, error) {
	l := &kafkaLog{cp: cp, path: filepath.Join(cp.Dir.Path, kafkaLogName)}
	var err error
	if l.lines, err = readKafkaLog(l.path); err != nil {
		return nil, err
	}
	cp.ext = l
	return l, nil
}

// resume tells whether reading goes on where a run before left off, rather
// than at --from.
func (l *kafkaLog) resume() bool { return l.cp.restarted || len(l.lines) > 0 }

// start reads where reading is to resume for n partitions: the committed
// checkpoint's offsets, or with no commit the log's start line, or
// nothing (nil: the first run, --from decides). It sets the replay: the
// logged batches after them. With group, an offset may be -1: the
// partition was another member's.
func (l *kafkaLog) start(n int, group bool) ([]int64, error) {
	var starts []int64
	switch {
	case l.cp.restarted:
		f := strings.Split(l.cp.extra, ",")
		if l.cp.extra == "" || len(f) != n {
			return nil, fmt.Errorf("restoring the checkpoint of batch %d: its record holds the offsets of %d partitions (%q), the topics have %d: remove the checkpoint directory to start the pipeline over", l.cp.skipTo, len(f), l.cp.extra, n)
		}
		var err error
		if starts, err = parseOffsets(f, group); err != nil {
			return nil, fmt.Errorf("restoring the checkpoint of batch %d: %v", l.cp.skipTo, err)
		}
		l.startTime = l.cp.skipTo
		for _, x := range l.lines {
			if x.time > l.startTime {
				l.replay = append(l.replay, x)
			}
		}
	case len(l.lines) > 0:
		if l.lines[0].time != 0 {
			return nil, fmt.Errorf("%s: the first line is batch %d, want the start line (0 and the offsets reading started at)", l.path, l.lines[0].time)
		}
		starts, l.replay = l.lines[0].offs, l.lines[1:]
	}
	for _, x := range append(l.replay, kafkaLine{offs: starts}) {
		if starts != nil && len(x.offs) != n {
			return nil, fmt.Errorf("%s: batch %d holds the offsets of %d partitions, the topics have %d: remove the checkpoint directory to start the pipeline over", l.path, x.time, len(x.offs), n)
		}
		if !group && slices.Contains(x.offs, -1) {
			return nil, fmt.Errorf("%s: batch %d holds offsets of a consumer group's member (-1: another member's partition), but produce runs without --group now: remove the checkpoint directory to start the pipeline over", l.path, x.time)
		}
	}
	return starts, nil
}

// parseOffsets parses a checkpoint's offsets; -1 only with group.
func parseOffsets(f []string, group bool) ([]int64, error) {
	offs := make([]int64, len(f))
	for i, s := range f {
		o, err := strconv.ParseInt(s, 10, 64)
		if err != nil || o < -1 || (o == -1 && !group) {
			return nil, fmt.Errorf("%q is not an offset", s)
		}
		offs[i] = o
	}
	return offs, nil
}

// begin rewrites the log from the start line on: pos, where reading
// starts, then the logged batches still to replay.
func (l *kafkaLog) begin(pos []int64) error {
	l.lines = append([]kafkaLine{{l.startTime, slices.Clone(pos)}}, l.replay...)
	l.replay = l.lines[1:]
	return l.rewrite()
}

// restart moves the start line to pos when no batch has been logged since
// a first run began: a consumer group's member learns where it starts only
// when it is given its partitions, and a crash before the first commit
// then replays from there.
func (l *kafkaLog) restart(pos []int64) error {
	if l.cp.restarted || len(l.lines) != 1 || l.lines[0].time != 0 || slices.Equal(l.lines[0].offs, pos) {
		return nil
	}
	l.lines[0].offs = slices.Clone(pos)
	return l.rewrite()
}

// replayFits tells whether the logged batches can be cut again from
// starts, reading the partitions marked in ours: each partition in them
// must be in every one, be ours, and start where the restored offsets
// (where the batches started) say. Otherwise a partition moved to another
// member of the group, which read it again, or --on-data-loss moved a
// start.
func (l *kafkaLog) replayFits(ours []bool, restored, starts []int64) bool {
	for i := range ours {
		in := 0
		for _, x := range l.replay {
			if x.offs[i] >= 0 {
				in++
			}
		}
		if in > 0 && (in < len(l.replay) || !ours[i] || restored[i] < 0 || starts[i] != restored[i]) {
			return false
		}
	}
	return true
}

// dropReplay gives up cutting the logged batches again: they leave the
// log. It returns the time of the last one, which later batches must come
// after.
func (l *kafkaLog) dropReplay() (int64, error) {
	n := len(l.replay)
	last := l.replay[n-1].time
	l.lines, l.replay = l.lines[:len(l.lines)-n], nil
	return last, l.rewrite()
}

// checkpointOffsets returns the time and offsets recorded in checkpoint n.
func (l *kafkaLog) checkpointOffsets(n uint64) (kafkaLine, error) {
	name := sourcePrefix + strconv.FormatUint(n, 10)
	b, err := l.cp.Dir.ReadFile(name)
	if err != nil {
		return kafkaLine{}, err
	}
	first, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(first)
	var x kafkaLine
	if len(f) == 3 {
		x.time, err = strconv.ParseInt(f[0], 10, 64)
		if err == nil {
			x.offs, err = parseOffsets(strings.Split(f[2], ","), true)
		}
	}
	if len(f) != 3 || err != nil || len(x.offs) != len(l.pos) {
		return kafkaLine{}, fmt.Errorf("%s: %q is not a checkpoint record of %d partitions' offsets (want TIME LATESIZE O1,...,On)", filepath.Join(l.cp.Dir.Path, name), first, len(l.pos))
	}
	return x, nil
}

// rewrite replaces kafka.log with l.lines, atomically.
func (l *kafkaLog) rewrite() error {
	var b []byte
	for _, x := range l.lines {
		b = appendKafkaLine(b, x)
	}
	if err := l.cp.Dir.WriteFile(kafkaLogName, b); err != nil {
		return err
	}
	if l.f != nil {
		l.f.Close()
	}
	var err error
	l.f, err = os.OpenFile(l.path, os.O_WRONLY|os.O_APPEND, 0o600)
	l.fileLines, l.dirty = len(l.lines), false
	return err
}

func appendKafkaLine(b []byte, x kafkaLine) []byte {
	b = strconv.AppendInt(b, x.time, 10)
	for _, o := range x.offs {
		b = append(b, ' ')
		b = strconv.AppendInt(b, o, 10)
	}
	return append(b, '\n')
}

// readKafkaLog reads kafka.log (see readLog: a torn last line is dropped).
func readKafkaLog(path string) ([]kafkaLine, error) {
	data, err := readLog(path)
	if err != nil {
		return nil, err
	}
	var lines []kafkaLine
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<24)
	for n := 1; sc.Scan(); n++ {
		f := strings.Fields(sc.Text())
		bad := len(f) < 2
		var x kafkaLine
		for i, s := range f {
			v, err := strconv.ParseInt(s, 10, 64)
			bad = bad || err != nil || v < -1 || (i == 0 && v < 0)
			if i == 0 {
				x.time = v
			} else {
				x.offs = append(x.offs, v)
			}
		}
		if !bad && len(lines) > 0 {
			prev := lines[len(lines)-1]
			bad = x.time <= prev.time || len(x.offs) != len(prev.offs)
			for i := 0; !bad && i < len(x.offs); i++ {
				bad = x.offs[i] < prev.offs[i] && x.offs[i] >= 0
			}
		}
		if bad {
			return nil, fmt.Errorf("%s:%d: %q is not a batch's offsets (want TIME OFFSET..., the time growing, the offsets not shrinking, -1 for another group member's partition)", path, n, sc.Text())
		}
		lines = append(lines, x)
	}
	return lines, sc.Err()
}

// logBoundary implements cpExt: batch b took what the partitions were
// read to (pos).
func (l *kafkaLog) logBoundary(b boundary) error {
	if l.replaying {
		return nil
	}
	x := kafkaLine{b.time, slices.Clone(l.pos)}
	l.lines = append(l.lines, x)
	l.fileLines++
	l.dirty = true
	_, err := l.f.Write(appendKafkaLine(nil, x))
	return err
}

func (l *kafkaLog) sync() error {
	if !l.dirty {
		return nil
	}
	l.dirty = false
	return l.f.Sync()
}

// find returns the line of batch t.
func (l *kafkaLog) find(t int64) (int, bool) {
	return slices.BinarySearchFunc(l.lines, t, func(x kafkaLine, t int64) int {
		switch {
		case x.time < t:
			return -1
		case x.time > t:
			return 1
		}
		return 0
	})
}

// recordExtra implements cpExt: the offsets after batch t, "O1,...,On".
func (l *kafkaLog) recordExtra(t int64) (string, error) {
	i, ok := l.find(t)
	if !ok {
		return "", fmt.Errorf("internal error: batch %d is not in %s", t, l.path)
	}
	var b []byte
	for j, o := range l.lines[i].offs {
		if j > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, o, 10)
	}
	return string(b), nil
}

// committed implements cpExt: the lines before the committed checkpoint's
// are dropped, and the file is cut back when enough have piled up.
func (l *kafkaLog) committed() error {
	n, ok, err := l.cp.Dir.Committed()
	if err != nil || !ok || n == l.collected {
		return err
	}
	b, err := l.cp.Dir.ReadFile(sourcePrefix + strconv.FormatUint(n, 10))
	if err != nil {
		return err
	}
	var t int64
	if _, err := fmt.Sscanf(string(b), "%d", &t); err != nil {
		return fmt.Errorf("%s: %q is not a checkpoint record", filepath.Join(l.cp.Dir.Path, sourcePrefix+strconv.FormatUint(n, 10)), b)
	}
	i, ok := l.find(t)
	if !ok {
		return nil // not ours (or already cut): the log is kept whole
	}
	l.collected = n
	// The replay is a suffix of lines: it is not moved by the cut.
	l.lines = l.lines[i:]
	if l.fileLines-len(l.lines) >= kafkaLogCompact {
		return l.rewrite()
	}
	return nil
}

func (l *kafkaLog) close() error {
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}
