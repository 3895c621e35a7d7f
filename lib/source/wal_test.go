package source

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"dstream/lib/checkpoint"
	"dstream/lib/stage"
)

func openCP(t *testing.T, root string, every int) *Checkpoints {
	t.Helper()
	dir, err := checkpoint.Open(root, "produce")
	if err != nil {
		t.Fatal(err)
	}
	cp := &Checkpoints{Dir: dir, Every: every}
	if err := cp.Open(); err != nil {
		t.Fatal(err)
	}
	return cp
}

func openWAL(t *testing.T, cp *Checkpoints, cfg WALConfig) *WAL {
	t.Helper()
	w := NewWAL(cp, cfg)
	if err := w.Open(); err != nil {
		t.Fatal(err)
	}
	return w
}

// readInputs reads each input whole, as "NAME=DATA".
func readInputs(t *testing.T, ins []Input) []string {
	t.Helper()
	var got []string
	for _, in := range ins {
		r, err := in.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		r.Close()
		got = append(got, in.Name+"="+string(b))
	}
	return got
}

// parseAll returns the records the inputs make, as "KEY=VALUE".
func parseAll(t *testing.T, lc LineConfig, ins []Input) []string {
	t.Helper()
	ctx := context.Background()
	f := newLineFeeder(LinesConfig{Common: testCommon(nil), Line: lc})
	var got []string
	err := readLines(ctx, startReader(ctx, ins), f, func(r *record) error {
		got = append(got, string(r.key)+"="+string(r.value))
		return nil
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// countRecords counts the records the splitter and the parser make of
// one input.
func countRecords(t *testing.T, lc LineConfig, data string) int64 {
	t.Helper()
	f := newLineFeeder(LinesConfig{Common: testCommon(nil), Line: lc})
	f.sp.feed(chunk{name: "in", data: []byte(data), first: true, end: true})
	var n int64
	if err := f.fill(func(*record) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

func segNames(t *testing.T, root string) string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(root, "produce", walDirName))
	if err != nil {
		t.Fatal(err)
	}
	var n []string
	for _, e := range entries {
		n = append(n, e.Name())
	}
	return strings.Join(n, " ")
}

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

// What the live inputs give is logged as it passes; a restart reads the
// logged inputs again, each whole and apart, before the live ones.
func TestWALLogAndReplay(t *testing.T) {
	root := t.TempDir()
	cp := openCP(t, root, 1)
	w := openWAL(t, cp, WALConfig{})
	got := readInputs(t, w.Inputs([]Input{stringInput("stdin", "a\nb\nc"), stringInput("p", "d\n")}))
	if want := []string{"stdin=a\nb\nc", "p=d\n"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("first run: %q, want %q", got, want)
	}
	cp.Close()
	dir := filepath.Join(root, "produce", walDirName)
	if m := mode(t, dir); m != 0o700 {
		t.Errorf("%s: mode %v", dir, m)
	}
	if m := mode(t, filepath.Join(dir, "00000001")); m != 0o600 {
		t.Errorf("segment: mode %v", m)
	}

	for run, want := range [][]string{
		{"stdin=a\nb\nc", "p=d\n", "stdin=e\n"},
		{"stdin=a\nb\nc", "p=d\n", "stdin=e\n", "stdin="},
	} {
		cp := openCP(t, root, 1)
		w := openWAL(t, cp, WALConfig{})
		live := []Input{stringInput("stdin", "e\n")}
		if run == 1 {
			live = []Input{stringInput("stdin", "")}
		}
		got := readInputs(t, w.Inputs(live))
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("restart %d: %q, want %q", run+1, got, want)
		}
		cp.Close()
	}
	if got := segNames(t, root); got != "00000001 00000002 00000003" {
		t.Errorf("segments %q: one per run", got)
	}
}

// The log counts records as the splitter and the parser make them, however
// the input is cut into chunks.
func TestWALLineCount(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	pieces := []string{"a", "bc", "\n", "\r\n", "x,y", "\n\n", ""}
	for i := range 2000 {
		header := i%2 == 1
		var sb strings.Builder
		for range rng.IntN(12) {
			sb.WriteString(pieces[rng.IntN(len(pieces))])
		}
		data := sb.String()
		lc := LineConfig{}
		if header {
			lc = LineConfig{Format: FormatTSV, Header: true}
		}
		want := countRecords(t, lc, data)
		c := lineCount{header: header, keep: true}
		c.begin()
		for rest := data; rest != ""; {
			n := 1 + rng.IntN(len(rest))
			c.add([]byte(rest[:n]))
			rest = rest[n:]
		}
		// Unended, the input has the records of its whole lines.
		whole := data[:strings.LastIndexByte(data, '\n')+1]
		if n := countRecords(t, lc, whole); c.records != n {
			t.Fatalf("%q (header %v), unended: %d records, want %d", data, header, c.records, n)
		}
		if got := string(c.partial); got != data[len(whole):] {
			t.Fatalf("%q: unfinished line %q", data, got)
		}
		c.end()
		if c.records != want {
			t.Fatalf("%q (header %v): %d records, want %d", data, header, c.records, want)
		}
	}
}

// chunky reads s in pieces of random sizes, so lines straddle chunks.
type chunky struct {
	s   string
	rng *rand.Rand
}

func (c *chunky) Read(p []byte) (int, error) {
	if c.s == "" {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), 1+c.rng.IntN(7))], c.s)
	c.s = c.s[n:]
	return n, nil
}

// With segments closed after every chunk, a replay from any segment gives
// the records from that segment's start on: the start record carries the
// unfinished line and the header line (here, the key is found by its
// column name), and an input that never ended stops at its last whole
// line.
func TestWALSegments(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	root := t.TempDir()
	cp := openCP(t, root, 1)
	cfg := WALConfig{Header: true, SegmentSize: 1}
	lc := LineConfig{Format: FormatCSV, Header: true, KeyField: "k"}
	var inputs []string
	for i := range 3 {
		var sb strings.Builder
		sb.WriteString("v,k\n")
		for j := range 5 + i {
			fmt.Fprintf(&sb, "value %d.%d,key%d\n", i, j, j%3)
		}
		inputs = append(inputs, strings.TrimSuffix(sb.String(), "\n"))
	}
	var live, plain []Input
	for i, s := range inputs {
		name := fmt.Sprintf("in%d", i)
		live = append(live, readerInput(name, &chunky{s: s, rng: rng}))
		plain = append(plain, stringInput(name, s))
	}
	w := openWAL(t, cp, cfg)
	readInputs(t, w.Inputs(live))
	all := parseAll(t, lc, plain)
	// A last input cut short, with its header and a line and a half.
	if err := w.begin("cut"); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"v,", "k\nlast,key9\nhal", "f,key"} {
		if err := w.data([]byte(p)); err != nil {
			t.Fatal(err)
		}
	}
	all = append(all, "key9=last,key9")
	if len(w.segs) < 20 {
		t.Fatalf("only %d segments", len(w.segs))
	}
	segs := w.segs
	w.close()
	for i, s := range segs {
		r := NewWAL(cp, cfg)
		have, err := r.scan(segs[i:])
		if err != nil {
			t.Fatalf("from segment %d: %v", s.seq, err)
		}
		if have != int64(len(all)) {
			t.Errorf("from segment %d: %d records, want %d", s.seq, have, len(all))
		}
		got := parseAll(t, lc, r.Inputs(nil))
		if want := all[s.start:]; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("from segment %d (record %d):\n%q\nwant\n%q", s.seq, s.start, got, want)
		}
	}
	cp.Close()
}

// A crash can tear the last record: a restart cuts it off and reads what
// is whole, up to the last whole line of the input that never ended.
func TestWALTornTail(t *testing.T) {
	root := t.TempDir()
	cp := openCP(t, root, 1)
	w := openWAL(t, cp, WALConfig{})
	for _, err := range []error{w.begin("stdin"), w.data([]byte("a\nb\n")), w.data([]byte("c\nd"))} {
		if err != nil {
			t.Fatal(err)
		}
	}
	w.close() // a crash: no E record
	full, err := os.ReadFile(filepath.Join(root, "produce", walDirName, "00000001"))
	if err != nil {
		t.Fatal(err)
	}
	// magic 8, S 11, B 14, D 13, D 12
	const afterS, afterB, afterD1 = 19, 33, 46
	if len(full) != 58 {
		t.Fatalf("segment of %d bytes", len(full))
	}
	check := func(data []byte, wantSize int, want []string) {
		t.Helper()
		root := t.TempDir()
		dir := filepath.Join(root, "produce", walDirName)
		os.MkdirAll(dir, 0o700)
		seg := filepath.Join(dir, "00000001")
		os.WriteFile(seg, data, 0o600)
		cp := openCP(t, root, 1)
		defer cp.Close()
		w := openWAL(t, cp, WALConfig{})
		if got := readInputs(t, w.Inputs(nil)); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("%d bytes: %q, want %q", len(data), got, want)
		}
		if fi, _ := os.Stat(seg); fi.Size() != int64(wantSize) {
			t.Fatalf("%d bytes: cut back to %d, want %d", len(data), fi.Size(), wantSize)
		}
		if w.cnt.records != int64(strings.Count(strings.Join(want, ""), "\n")) {
			t.Fatalf("%d bytes: the new segment starts at record %d", len(data), w.cnt.records)
		}
	}
	for cut := afterS; cut <= len(full); cut++ {
		switch {
		case cut < afterB:
			check(full[:cut], afterS, nil)
		case cut < afterD1:
			check(full[:cut], afterB, []string{"stdin="})
		case cut < len(full):
			check(full[:cut], afterD1, []string{"stdin=a\nb\n"})
		default:
			check(full, len(full), []string{"stdin=a\nb\nc\n"})
		}
	}
	// A crash of the machine can leave zeros after the last record.
	check(append(full[:50:50], make([]byte, 4096)...), afterD1, []string{"stdin=a\nb\n"})
	// A segment torn before its start record is removed (this run's new
	// segment takes its number).
	check(full[:12], afterS, nil)

	// A damaged record with records after it is not a torn tail.
	bad := bytes.Clone(full)
	bad[afterB+walRecHeader+1] ^= 0xff
	root2 := t.TempDir()
	os.MkdirAll(filepath.Join(root2, "produce", walDirName), 0o700)
	seg := filepath.Join(root2, "produce", walDirName, "00000001")
	os.WriteFile(seg, bad, 0o600)
	cp2 := openCP(t, root2, 1)
	defer cp2.Close()
	err = NewWAL(cp2, WALConfig{}).Open()
	want := fmt.Sprintf("--wal: %s: corrupt record at byte 33: its checksum does not match, and records follow it, so it is not a torn write", seg)
	if err == nil || err.Error() != want {
		t.Fatalf("got %v\nwant %s", err, want)
	}
}

// The log of a processing-time run is its input read again: the batches
// after the committed checkpoint go out again as they were, then the new
// input by the clock; the segments a restart no longer reads are removed.
func TestWALRestart(t *testing.T) {
	root := t.TempDir()
	start := func(clock stage.Clock, in Input, out stage.Emitter, fed chan struct{}) chan error {
		cp := openCP(t, root, 2)
		c := testCommon(clock)
		c.CP = cp
		lc := LinesConfig{Common: c, Inputs: []Input{in}}
		if fed != nil {
			lc.afterChunk = func() { fed <- struct{}{} }
		}
		w := NewWAL(cp, WALConfig{})
		src := &Checkpointed{Src: NewWALLines(lc, w), CP: cp}
		if err := w.Open(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- src.Run(context.Background(), out) }()
		return done
	}
	seg1 := filepath.Join(root, "produce", walDirName, "00000001")

	clock := stage.NewFakeClock(time.UnixMilli(10_500))
	fed := make(chan struct{}, 16)
	r, w := io.Pipe()
	var first barrierCollect
	done := start(clock, readerInput("stdin", r), &first, fed)
	waitFor(func() bool { return clock.Waiters() == 1 })
	send := func(s string) { io.WriteString(w, s); <-fed }
	advance := func(d time.Duration, n int) {
		clock.Advance(d)
		waitFor(func() bool { return len(first.batches()) >= n && clock.Waiters() == 1 })
	}
	send("a\nb\n")
	if b, _ := os.ReadFile(seg1); !bytes.Contains(b, []byte("a\nb\n")) {
		t.Fatalf("a chunk was batched before it was logged: %q", b)
	}
	advance(500*time.Millisecond, 1)
	send("c\n")
	advance(time.Second, 3) // 12000, then BARRIER 1
	advance(time.Second, 4)
	send("d\ne\n")
	advance(time.Second, 6) // 14000, BARRIER 2
	if err := openCP(t, root, 2).Dir.Commit(1); err != nil {
		t.Fatal(err)
	}
	w.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	want1 := "11000: a b\n12000: c\nBARRIER 1 12000\n13000:\n14000: d e\nBARRIER 2 14000\n15000:\nBARRIER 3 15000"
	if got := strings.Join(first.batches(), "\n"); got != want1 {
		t.Fatalf("first run:\n%s\nwant\n%s", got, want1)
	}

	// Killed after checkpoint 1 was committed; restarted on a new input.
	var second barrierCollect
	clock = stage.NewFakeClock(time.UnixMilli(20_500))
	if err := <-start(clock, stringInput("stdin", "f\n"), &second, nil); err != nil {
		t.Fatal(err)
	}
	want2 := "13000:\n14000: d e\nBARRIER 2 14000\n15000:\n21000: f\nBARRIER 3 21000"
	if got := strings.Join(second.batches(), "\n"); got != want2 {
		t.Fatalf("restart:\n%s\nwant\n%s", got, want2)
	}
	logPath := filepath.Join(root, "produce", batchLogName)
	if b, _ := os.ReadFile(logPath); string(b) != "12000 3\n13000 3\n14000 5\n15000 5\n21000 6\n" {
		t.Fatalf("batches.log = %q: from the committed batch on", b)
	}

	// Checkpoint 3 committed: the first run's segment is no longer read.
	if err := openCP(t, root, 2).Dir.Commit(3); err != nil {
		t.Fatal(err)
	}
	var third barrierCollect
	clock = stage.NewFakeClock(time.UnixMilli(30_500))
	if err := <-start(clock, stringInput("stdin", "g\n"), &third, nil); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(third.batches(), "\n"), "31000: g\nBARRIER 4 31000"; got != want {
		t.Fatalf("third run:\n%s\nwant\n%s", got, want)
	}
	// Its records from 6 on are all in its own segment.
	if got := segNames(t, root); got != "00000003" {
		t.Errorf("segments %q", got)
	}
	if b, _ := os.ReadFile(logPath); string(b) != "21000 6\n31000 7\n" {
		t.Fatalf("batches.log = %q", b)
	}
}

// In a long run, a committed checkpoint lets the log drop the segments
// before the one its records start in, and batches.log its old lines.
func TestWALCollect(t *testing.T) {
	root := t.TempDir()
	cp := openCP(t, root, 1)
	w := openWAL(t, cp, WALConfig{SegmentSize: 1})
	w.begin("stdin")
	for i := range 5 {
		w.data(fmt.Appendf(nil, "%d\n", i))
	}
	// 1: the run's start; 2: B; 3 to 7: "0\n" to "4\n".
	if got := segNames(t, root); got != "00000001 00000002 00000003 00000004 00000005 00000006 00000007" {
		t.Fatalf("segments %q", got)
	}
	cp.recent = []boundary{{1000, 1}, {2000, 3}, {3000, 5}}
	cp.Dir.WriteFile("source-7", []byte("2000 0\n\n"))
	cp.Dir.Commit(7)
	if err := cp.collect(); err != nil {
		t.Fatal(err)
	}
	// Record 3 ("3\n", counted from 0) is the first of segment 6.
	if got := segNames(t, root); got != "00000006 00000007" {
		t.Errorf("segments %q", got)
	}
	if fmt.Sprint(cp.recent) != "[{2000 3} {3000 5}]" {
		t.Errorf("recent %v", cp.recent)
	}
	cp.Close()
}

// What cannot be made right is an error that says what is wrong.
func TestWALErrors(t *testing.T) {
	setup := func(t *testing.T) (string, *Checkpoints) {
		root := t.TempDir()
		cp := openCP(t, root, 1)
		w := openWAL(t, cp, WALConfig{})
		readInputs(t, w.Inputs([]Input{stringInput("stdin", "a\nb\nc\n")}))
		cp.Close()
		for i := 2; i <= 3; i++ { // two more runs, two more segments
			cp := openCP(t, root, 1)
			openWAL(t, cp, WALConfig{})
			cp.Close()
		}
		cp.Dir.WriteFile("source-1", []byte("1000 0\n\n"))
		cp.Dir.WriteFile(batchLogName, []byte("1000 2\n"))
		cp.Dir.Commit(1)
		return root, cp
	}
	openErr := func(t *testing.T, root string) string {
		cp := openCP(t, root, 1)
		defer cp.Close()
		err := NewWAL(cp, WALConfig{}).Open()
		if err == nil {
			t.Fatal("no error")
		}
		return err.Error()
	}
	t.Run("no log", func(t *testing.T) {
		root, cp := setup(t)
		os.RemoveAll(filepath.Join(cp.Dir.Path, walDirName))
		want := fmt.Sprintf("--wal: a checkpoint covering 2 records is committed, but %s holds no log of them: was the last run without --wal, or with another --id?", filepath.Join(root, "produce", walDirName))
		if got := openErr(t, root); got != want {
			t.Errorf("got  %s\nwant %s", got, want)
		}
	})
	t.Run("missing segment", func(t *testing.T) {
		root, cp := setup(t)
		dir := filepath.Join(cp.Dir.Path, walDirName)
		os.Remove(filepath.Join(dir, "00000002"))
		want := fmt.Sprintf("--wal: %s/00000002 is missing (the log goes from %[1]s/00000001 to %[1]s/00000003)", dir)
		if got := openErr(t, root); got != want {
			t.Errorf("got  %s\nwant %s", got, want)
		}
	})
	t.Run("older segments missing", func(t *testing.T) {
		root, cp := setup(t)
		dir := filepath.Join(cp.Dir.Path, walDirName)
		os.Remove(filepath.Join(dir, "00000001"))
		want := fmt.Sprintf("--wal: %s/00000002 starts at record 3, but a restart needs the log from record 2 on: its older segments are missing", dir)
		if got := openErr(t, root); got != want {
			t.Errorf("got  %s\nwant %s", got, want)
		}
	})
	t.Run("start over", func(t *testing.T) {
		root, cp := setup(t)
		dir := filepath.Join(cp.Dir.Path, walDirName)
		os.Remove(filepath.Join(dir, "00000001")) // collected
		os.Remove(filepath.Join(root, "committed"))
		want := fmt.Sprintf("--wal: no checkpoint is committed, so produce reads its log from the start, but %s/00000002 starts at record 3: the segments before were removed once a checkpoint was committed; to start over, remove the whole checkpoint directory", dir)
		if got := openErr(t, root); got != want {
			t.Errorf("got  %s\nwant %s", got, want)
		}
	})
	t.Run("not a segment", func(t *testing.T) {
		root, cp := setup(t)
		seg := filepath.Join(cp.Dir.Path, walDirName, "00000002")
		os.WriteFile(seg, []byte("something else entirely\n"), 0o600)
		want := fmt.Sprintf("--wal: %s: not a write-ahead log segment (want \"dswal01\\n\" first)", seg)
		if got := openErr(t, root); got != want {
			t.Errorf("got  %s\nwant %s", got, want)
		}
	})
	t.Run("counts disagree", func(t *testing.T) {
		root, cp := setup(t)
		// Segment 2 rewritten to claim it starts at record 2, not 3.
		seg := filepath.Join(cp.Dir.Path, walDirName, "00000002")
		w := &WAL{cfg: WALConfig{SegmentSize: DefaultWALSegment}, dir: filepath.Dir(seg)}
		os.Remove(seg)
		w.cnt.records = 2
		w.segs = []walSeg{{seq: 1}}
		if err := w.create(2); err != nil {
			t.Fatal(err)
		}
		w.close()
		// The replay now starts at segment 2, which the next contradicts.
		want := fmt.Sprintf("--wal: %s/00000003: corrupt record at byte 8: the segment starts at record 3, but the ones before end at record 2", filepath.Dir(seg))
		if got := openErr(t, root); got != want {
			t.Errorf("got  %s\nwant %s", got, want)
		}
	})
}

// --watch: files are logged whole before they are read; a restart reads
// the logged ones again, cut where batches.log says, and a file that was
// being logged when produce stopped is read again from the directory.
func TestWALWatch(t *testing.T) {
	root, dir := t.TempDir(), t.TempDir()
	write := func(name, data string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run := func(clock *stage.FakeClock, steps func(step func())) string {
		cp := openCP(t, root, 1)
		c := testCommon(clock)
		c.Interval, c.CP = 2000, cp
		wal := NewWAL(cp, WALConfig{Whole: true})
		src := NewWALWatch(dir, LinesConfig{Common: c}, wal)
		polled := make(chan struct{}, 16)
		src.(*Watch).afterPoll = func() { polled <- struct{}{} }
		if err := wal.Open(); err != nil {
			t.Fatal(err)
		}
		var out barrierCollect
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- (&Checkpointed{Src: src, CP: cp}).Run(ctx, &out) }()
		waitFor(func() bool { return clock.Waiters() == 1 }) // the start listing is done
		steps(func() {
			waitFor(func() bool { return clock.Waiters() == 1 })
			clock.Advance(time.Second)
			<-polled
		})
		waitFor(func() bool { return clock.Waiters() == 1 })
		cancel()
		if err := <-done; err != context.Canceled {
			t.Fatalf("got %v", err)
		}
		return strings.Join(out.batches(), "\n")
	}

	got := run(stage.NewFakeClock(time.UnixMilli(10_000)), func(step func()) {
		write("a.txt", "a1\na2\n")
		step() // 11 s: a.txt into 12000
		step() // 12 s: 12000 out
		write("b.txt", "b1")
		step()
		step() // 14 s: 14000 out
	})
	want := "12000: a1 a2\nBARRIER 1 12000\n14000: b1\nBARRIER 2 14000"
	if got != want {
		t.Fatalf("first run:\n%s\nwant\n%s", got, want)
	}

	// Committed up to 12000; c.txt was being logged when produce stopped.
	cp := openCP(t, root, 1)
	cp.Dir.Commit(1)
	cp.Close()
	cp = openCP(t, root, 1)
	w := openWAL(t, cp, WALConfig{Whole: true})
	write("c.txt", "c1\n")
	w.begin(filepath.Join(dir, "c.txt"))
	w.data([]byte("c1\n"))
	w.close()
	got = run(stage.NewFakeClock(time.UnixMilli(20_000)), func(step func()) {
		step() // 21 s: c.txt, read again, into 22000
		step()
	})
	want = "14000: b1\nBARRIER 2 14000\n22000: c1\nBARRIER 3 22000"
	if got != want {
		t.Fatalf("restart:\n%s\nwant\n%s", got, want)
	}
}

// --socket: the connection's lines are logged, and a restart reads them
// again before it reads the new connection's.
func TestWALSocket(t *testing.T) {
	root := t.TempDir()
	run := func(data string) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		go func() {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			io.WriteString(conn, data)
			conn.Close()
		}()
		cp := openCP(t, root, 1)
		c := testCommon(nil)
		c.CP = cp
		wal := NewWAL(cp, WALConfig{})
		src := NewWALSocket(ln.Addr().String(), LinesConfig{Common: c}, wal)
		if err := wal.Open(); err != nil {
			t.Fatal(err)
		}
		var out barrierCollect
		if err := (&Checkpointed{Src: src, CP: cp}).Run(context.Background(), &out); err != nil {
			t.Fatal(err)
		}
		return strings.Join(out.batches(), "\n")
	}
	if got, want := run("a\nb\n"), "1000: a b\nBARRIER 1 1000"; got != want {
		t.Fatalf("first run: %q, want %q", got, want)
	}
	// Nothing committed: everything again, then the new connection.
	if got, want := run("c\n"), "1000: a b\nBARRIER 1 1000\n2000: c\nBARRIER 2 2000"; got != want {
		t.Fatalf("restart: %q, want %q", got, want)
	}
}
