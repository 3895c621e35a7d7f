package ops

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"dstream/lib/checkpoint"
	"dstream/lib/frame"
	"dstream/lib/stage"

	"github.com/urfave/cli/v2"
)

// stageAt builds spec's stage from args as the runtime would, with the
// runtime's --id flag, its checkpoint directory in root (none when root is
// "") and its log written to logs.
func stageAt(t *testing.T, spec *stage.Spec, root string, logs *bytes.Buffer, args ...string) (any, error) {
	t.Helper()
	set := flag.NewFlagSet(spec.Name, flag.ContinueOnError)
	flags := append([]cli.Flag{&cli.StringFlag{Name: stage.FlagID}}, spec.Flags...)
	for _, f := range flags {
		if err := f.Apply(set); err != nil {
			t.Fatal(err)
		}
	}
	if err := set.Parse(args); err != nil {
		t.Fatal(err)
	}
	c := &stage.Context{Context: cli.NewContext(cli.NewApp(), set, nil), Spec: spec, ID: spec.Name}
	if id := set.Lookup(stage.FlagID).Value.String(); id != "" {
		c.ID = id
	}
	if logs != nil {
		c.Log = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{
			ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
				if a.Key == slog.TimeKey {
					return slog.Attr{}
				}
				return a
			},
		}))
	}
	if root != "" {
		dir, err := checkpoint.Open(root, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		c.Checkpoint = dir
	}
	return spec.New(c)
}

func newRememberAt(t *testing.T, root string, logs *bytes.Buffer, args ...string) *remember {
	t.Helper()
	st, err := stageAt(t, Remember, root, logs, args...)
	if err != nil {
		t.Fatalf("remember %v: %v", args, err)
	}
	return st.(*remember)
}

// sliceAll runs slice over the whole time range of root: what a query
// sees of the directory, rendered.
func sliceAll(t *testing.T, root string) string {
	t.Helper()
	st, err := stageAt(t, Slice, "", nil, "--", fmt.Sprint(int64(math.MinInt64)), fmt.Sprint(int64(math.MaxInt64)), root)
	if err != nil {
		t.Fatal(err)
	}
	var out collect
	if err := st.(stage.Source).Run(context.Background(), &out); err != nil {
		t.Fatal(err)
	}
	return renderTimed(out)
}

// dirFiles lists the stage directory's batch files with their contents.
func dirFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for _, e := range entries {
		if _, ok := parseRememberFile(e.Name()); !ok && !isRememberTemp(e.Name()) {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files[e.Name()] = string(data)
	}
	return files
}

// names lists the files in time order, temporary files last.
func names(files map[string]string) string {
	var ns []string
	for n := range files {
		ns = append(ns, n)
	}
	sort.Slice(ns, func(i, j int) bool {
		ti, oki := parseRememberFile(ns[i])
		tj, okj := parseRememberFile(ns[j])
		if oki && okj {
			return ti < tj
		}
		if oki != okj {
			return oki
		}
		return ns[i] < ns[j]
	})
	return strings.Join(ns, " ")
}

// chunked returns b as two chunks: its first record, then the rest.
func chunked(b *frame.Batch) []*frame.Batch {
	first := &frame.Batch{Time: b.Time, Interval: b.Interval, More: true, Partitions: make([]frame.Partition, len(b.Partitions))}
	rest := &frame.Batch{Time: b.Time, Interval: b.Interval, Partitions: make([]frame.Partition, len(b.Partitions))}
	first.Partitions[0].Records = b.Partitions[0].Records[:1]
	rest.Partitions[0].Records = b.Partitions[0].Records[1:]
	for i := 1; i < len(b.Partitions); i++ {
		rest.Partitions[i] = b.Partitions[i]
	}
	return []*frame.Batch{first, rest}
}

// rememberInput is eight batches of 1 s: two partitions, keyed records, an
// empty batch (4000) and a batch in two chunks (3000).
func rememberInput() []*frame.Batch {
	var in []*frame.Batch
	for i := int64(1); i <= 8; i++ {
		b := batch(i*1000, []string{fmt.Sprintf("k%d\tv%d", i, i), fmt.Sprintf("plain %d", i)}, []string{fmt.Sprintf("p2 %d", i)})
		switch i {
		case 3:
			in = append(in, chunked(b)...)
			continue
		case 4:
			b = batch(4000)
		}
		in = append(in, b)
	}
	return in
}

func TestRememberPassesThroughAndKeepsTheLastD(t *testing.T) {
	root := t.TempDir()
	r := newRememberAt(t, root, nil, "3s")
	dir := filepath.Join(root, "remember")
	in := rememberInput()
	var out collect
	want := map[int64]string{
		1000: "batch-1000.frames",
		2000: "batch-1000.frames batch-2000.frames",
		3000: "batch-1000.frames batch-2000.frames batch-3000.frames",
		4000: "batch-2000.frames batch-3000.frames batch-4000.frames",
		5000: "batch-3000.frames batch-4000.frames batch-5000.frames",
		8000: "batch-6000.frames batch-7000.frames batch-8000.frames",
	}
	for _, b := range in {
		if err := r.Process(context.Background(), b, &out); err != nil {
			t.Fatal(err)
		}
		files := dirFiles(t, dir)
		got := names(files)
		if w, ok := want[b.Time]; ok && !b.More && got != w {
			t.Errorf("after batch %d: directory holds %s, want %s", b.Time, got, w)
		}
		if _, ok := files["batch-3000.frames"]; b.More && ok {
			t.Errorf("batch 3000 is in place before its last chunk: %s", got)
		}
	}
	if got, want := renderTimed(out), renderTimed(in); got != want {
		t.Errorf("output differs from the input:\n%s\nwant\n%s", got, want)
	}
	// The files hold the batches as they came, chunks included.
	if got, want := sliceAll(t, root), renderTimed(in[len(in)-3:]); got != want {
		t.Errorf("slice of the directory:\n%s\nwant\n%s", got, want)
	}
	for name := range dirFiles(t, dir) {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", name, fi.Mode().Perm())
		}
	}
	for _, d := range []string{root, dir} {
		fi, err := os.Stat(d)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o700 {
			t.Errorf("%s has mode %v, want 0700", d, fi.Mode().Perm())
		}
	}
	meta, err := os.ReadFile(filepath.Join(dir, rememberMeta))
	if err != nil || string(meta) != "dstream-remember 1 keep-ms 3000\n" {
		t.Errorf("remember.meta: %q, %v", meta, err)
	}
}

func TestRememberWindowAsSpark(t *testing.T) {
	// Spark BasicOperationsSuite "rdd cleanup - map and window": after the
	// batch of 10 s, a stream remembering 9 s holds 2 s but not 1 s, one
	// remembering 7 s holds 4 s but not 3 s: the window is (latest-D, latest].
	for _, tt := range []struct {
		d     string
		first int64
	}{{"9s", 2000}, {"7s", 4000}, {"1s", 10000}, {"1500ms", 9000}, {"1h", 1000}} {
		root := t.TempDir()
		r := newRememberAt(t, root, nil, tt.d)
		var out collect
		for i := int64(1); i <= 10; i++ {
			if err := r.Process(context.Background(), batch(i*1000, []string{fmt.Sprint(i)}), &out); err != nil {
				t.Fatal(err)
			}
		}
		var want []string
		for tm := tt.first; tm <= 10000; tm += 1000 {
			want = append(want, rememberFileName(tm))
		}
		if got := names(dirFiles(t, filepath.Join(root, "remember"))); got != strings.Join(want, " ") {
			t.Errorf("remember %s: holds %s, want %s", tt.d, got, strings.Join(want, " "))
		}
	}
}

func TestRememberUsage(t *testing.T) {
	for _, tt := range []struct {
		args []string
		root bool
		want string
	}{
		{[]string{"0s"}, true, `duration "0s": want a positive Go duration of whole milliseconds, like 3s or 1500ms`},
		{[]string{"--", "-1s"}, true, `duration "-1s": want a positive`},
		{[]string{"1500us"}, true, `duration "1500us": want a positive`},
		{[]string{"3"}, true, `duration "3": want a positive`},
		{[]string{""}, true, `duration "": want a positive`},
		{[]string{"3s"}, false, "remember keeps batches in its checkpoint directory for slice to read, which --ephemeral cannot give: give --checkpoint DIR or set DSTREAM_CHECKPOINT"},
	} {
		root := ""
		if tt.root {
			root = t.TempDir()
		}
		_, err := stageAt(t, Remember, root, nil, tt.args...)
		var ue *stage.UsageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("remember %q: got %v, want a usage error with %q", tt.args, err, tt.want)
		}
	}
}

func TestRememberTimesMustIncrease(t *testing.T) {
	r := newRememberAt(t, t.TempDir(), nil, "3s")
	var out collect
	if err := r.Process(context.Background(), batch(2000), &out); err != nil {
		t.Fatal(err)
	}
	err := r.Process(context.Background(), batch(2000), &out)
	if err == nil || err.Error() != "batch 2000 comes after batch 2000: batch times must increase" {
		t.Errorf("got %v", err)
	}
}

// TestRememberRestart is remember's recovery contract (checkRestart's, with
// state in files): cut after every whole batch, checkpoint, let the killed
// run go on for a few batches (it writes later files and may leave a torn
// one), restart from the checkpoint and replay. The output, what slice sees
// at every step, and in the end the directory itself, are those of an
// uninterrupted run.
func TestRememberRestart(t *testing.T) {
	in := rememberInput()
	ctx := context.Background()

	root := t.TempDir()
	whole := newRememberAt(t, root, nil, "3s")
	var wantOut collect
	var wantSeen []string // what slice sees after each input batch
	for _, b := range in {
		if err := whole.Process(ctx, b, &wantOut); err != nil {
			t.Fatal(err)
		}
		wantSeen = append(wantSeen, sliceAll(t, root))
	}
	if err := whole.Finish(ctx, nil); err != nil {
		t.Fatal(err)
	}
	wantDir := dirFiles(t, filepath.Join(root, "remember"))

	for k := 0; k <= len(in); k++ {
		if k > 0 && in[k-1].More {
			continue // barriers come between whole batches only
		}
		for _, ahead := range []int{0, 1, 3, len(in)} {
			name := fmt.Sprintf("cut after %d, killed %d batches later", k, ahead)
			root := t.TempDir()
			dir := filepath.Join(root, "remember")
			first := newRememberAt(t, root, nil, "3s")
			var out collect
			for _, b := range in[:k] {
				if err := first.Process(ctx, b, &out); err != nil {
					t.Fatal(err)
				}
			}
			var snap, again bytes.Buffer
			if err := first.Snapshot(&snap); err != nil {
				t.Fatal(err)
			}
			if err := first.Snapshot(&again); err != nil || !bytes.Equal(snap.Bytes(), again.Bytes()) {
				t.Fatalf("%s: two snapshots of the same state differ (%v)", name, err)
			}
			if err := first.Barrier(ctx, frame.Barrier{ID: 7}); err != nil {
				t.Fatal(err)
			}
			if err := first.dir.Commit(7); err != nil { // the sink
				t.Fatal(err)
			}
			// The killed run goes on, maybe into a batch it never finishes.
			var lost collect
			for _, b := range in[k:min(k+ahead, len(in))] {
				if err := first.Process(ctx, b, &lost); err != nil {
					t.Fatal(err)
				}
			}
			if n := snap.Len(); n > 0 {
				torn := newRememberAt(t, root, nil, "3s")
				if err := torn.Restore(bytes.NewReader(snap.Bytes()[:n-1])); err == nil {
					t.Errorf("%s: Restore accepted a snapshot missing its last byte", name)
				}
			}

			second := newRememberAt(t, root, nil, "3s")
			if err := second.Restore(bytes.NewReader(snap.Bytes())); err != nil {
				t.Fatalf("%s: restore: %v", name, err)
			}
			if err := second.start(); err != nil {
				t.Fatal(err)
			}
			// Right after the restart the directory is the checkpoint's.
			seen := renderTimed(nil)
			if k > 0 {
				seen = wantSeen[k-1]
			}
			if got := sliceAll(t, root); got != seen {
				t.Fatalf("%s: after restore slice sees\n%s\nwant\n%s", name, got, seen)
			}
			for i, b := range in[k:] {
				if err := second.Process(ctx, b, &out); err != nil {
					t.Fatal(err)
				}
				if got := sliceAll(t, root); got != wantSeen[k+i] {
					t.Fatalf("%s: after batch %d slice sees\n%s\nwant\n%s", name, b.Time, got, wantSeen[k+i])
				}
				if i == 1 && !b.More {
					// A checkpoint taken during the replay, and committed.
					if err := second.Barrier(ctx, frame.Barrier{ID: 8}); err != nil {
						t.Fatal(err)
					}
					if err := second.dir.Commit(8); err != nil {
						t.Fatal(err)
					}
				}
			}
			if err := second.Barrier(ctx, frame.Barrier{ID: 9}); err != nil {
				t.Fatal(err)
			}
			if err := second.dir.Commit(9); err != nil {
				t.Fatal(err)
			}
			if err := second.Finish(ctx, nil); err != nil {
				t.Fatal(err)
			}
			if got, want := renderTimed(out), renderTimed(wantOut); got != want {
				t.Fatalf("%s: output\n%s\nwant (uninterrupted)\n%s", name, got, want)
			}
			if got := dirFiles(t, dir); !mapsEqual(got, wantDir) {
				t.Fatalf("%s: directory holds %s, want %s (or contents differ)", name, names(got), names(wantDir))
			}
		}
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// A restarted run that ends before the point where the killed run was (a
// drained run): the killed run's later files are gone, the directory holds
// only batches the pipeline has processed since its checkpoint.
func TestRememberRestartDrainedEarly(t *testing.T) {
	in := rememberInput() // 1000, 2000, 3000 (2 chunks), 4000, ... 8000
	ctx := context.Background()
	root := t.TempDir()
	dir := filepath.Join(root, "remember")
	first := newRememberAt(t, root, nil, "3s")
	var out collect
	for _, b := range in[:5] { // up to 4000
		if err := first.Process(ctx, b, &out); err != nil {
			t.Fatal(err)
		}
	}
	var snap bytes.Buffer
	if err := first.Snapshot(&snap); err != nil {
		t.Fatal(err)
	}
	if err := first.Barrier(ctx, frame.Barrier{ID: 1, Time: 4000}); err != nil {
		t.Fatal(err)
	}
	if err := first.dir.Commit(1); err != nil {
		t.Fatal(err)
	}
	for _, b := range in[5:] { // 5000 to 8000, then killed in a chunk
		if err := first.Process(ctx, b, &out); err != nil {
			t.Fatal(err)
		}
	}
	if err := first.Process(ctx, &frame.Batch{Time: 9000, Interval: 1000, More: true}, &out); err != nil {
		t.Fatal(err)
	}
	// The checkpoint's batches are all still there for the restart.
	left := dirFiles(t, dir)
	var temps int
	for name := range left {
		if isRememberTemp(name) {
			temps++
			delete(left, name)
		}
	}
	if got, want := names(left), "batch-2000.frames batch-3000.frames batch-4000.frames batch-6000.frames batch-7000.frames batch-8000.frames"; got != want || temps != 1 {
		t.Errorf("killed run left %s and %d temporary files, want %s and 1", got, temps, want)
	}

	second := newRememberAt(t, root, nil, "3s")
	if err := second.Restore(bytes.NewReader(snap.Bytes())); err != nil {
		t.Fatal(err)
	}
	if err := second.Process(ctx, in[5], &out); err != nil { // 5000, then EOS
		t.Fatal(err)
	}
	if err := second.Finish(ctx, nil); err != nil {
		t.Fatal(err)
	}
	// 2000 waits for a commit after checkpoint 1 (which needs it); slice
	// does not see it; nothing after 5000 is left.
	if got, want := names(dirFiles(t, dir)), "batch-2000.frames batch-3000.frames batch-4000.frames batch-5000.frames"; got != want {
		t.Errorf("directory holds %s, want %s", got, want)
	}
	if got, want := sliceAll(t, root), renderTimed(in[2:6]); got != want {
		t.Errorf("slice sees\n%s\nwant\n%s", got, want)
	}
}

func TestRememberKeepsWhatACheckpointNeeds(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	dir := filepath.Join(root, "remember")
	r := newRememberAt(t, root, nil, "3s")
	var out collect
	step := func(times ...int64) {
		t.Helper()
		for _, tm := range times {
			if err := r.Process(ctx, batch(tm, []string{"x"}), &out); err != nil {
				t.Fatal(err)
			}
		}
	}
	check := func(want string) {
		t.Helper()
		if got := names(dirFiles(t, dir)); got != want {
			t.Errorf("directory holds %s, want %s", got, want)
		}
	}
	step(1000, 2000, 3000, 4000)
	if err := r.Barrier(ctx, frame.Barrier{ID: 1, Time: 4000}); err != nil {
		t.Fatal(err)
	}
	step(5000, 6000, 7000)
	// Checkpoint 1 is not committed yet, but may be: its 2000 to 4000 stay.
	check("batch-2000.frames batch-3000.frames batch-4000.frames batch-5000.frames batch-6000.frames batch-7000.frames")
	if err := r.dir.Commit(1); err != nil {
		t.Fatal(err)
	}
	if err := r.Barrier(ctx, frame.Barrier{ID: 2, Time: 7000}); err != nil {
		t.Fatal(err)
	}
	step(8000)
	check("batch-2000.frames batch-3000.frames batch-4000.frames batch-5000.frames batch-6000.frames batch-7000.frames batch-8000.frames")
	if err := r.dir.Commit(2); err != nil {
		t.Fatal(err)
	}
	step(9000)
	// Checkpoint 1 can no longer be restored; checkpoint 2 needs 5000 to 7000.
	check("batch-5000.frames batch-6000.frames batch-7000.frames batch-8000.frames batch-9000.frames")
	if err := r.Barrier(ctx, frame.Barrier{ID: 3, Time: 9000}); err != nil {
		t.Fatal(err)
	}
	if err := r.dir.Commit(3); err != nil {
		t.Fatal(err)
	}
	if err := r.Finish(ctx, nil); err != nil {
		t.Fatal(err)
	}
	check("batch-7000.frames batch-8000.frames batch-9000.frames")
}

func TestRememberWithoutCommitsStopsWaiting(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	var logs bytes.Buffer
	r := newRememberAt(t, root, &logs, "1s")
	var out collect
	for i := int64(1); i <= maxMarks+3; i++ {
		if err := r.Process(ctx, batch(i*1000), &out); err != nil {
			t.Fatal(err)
		}
		if err := r.Barrier(ctx, frame.Barrier{ID: uint64(i), Time: i * 1000}); err != nil {
			t.Fatal(err)
		}
	}
	if got := len(dirFiles(t, filepath.Join(root, "remember"))); got != maxMarks {
		t.Errorf("%d files kept, want %d (one per checkpoint waited for)", got, maxMarks)
	}
	if n := strings.Count(logs.String(), "no checkpoint committed for many barriers"); n != 1 {
		t.Errorf("%d warnings, want 1:\n%s", n, logs.String())
	}
}

func TestRememberFreshStartRemovesStaleFiles(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "remember")
	old := newRememberAt(t, root, nil, "3s")
	var out collect
	for _, tm := range []int64{5000, 6000, 7000} {
		if err := old.Process(context.Background(), batch(tm, []string{"old"}), &out); err != nil {
			t.Fatal(err)
		}
	}
	if err := old.Process(context.Background(), &frame.Batch{Time: 8000, Interval: 1000, More: true}, &out); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o600); err != nil {
		t.Fatal(err)
	}
	// No checkpoint was committed: the pipeline starts over.
	r := newRememberAt(t, root, nil, "3s")
	if err := r.Process(context.Background(), batch(1000, []string{"new"}), &out); err != nil {
		t.Fatal(err)
	}
	if got := names(dirFiles(t, dir)); got != "batch-1000.frames" {
		t.Errorf("directory holds %s, want batch-1000.frames only", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "notes.txt")); err != nil {
		t.Errorf("a file remember did not write was removed: %v", err)
	}
}

func TestRememberRestoreWarnsOfMissingFiles(t *testing.T) {
	root := t.TempDir()
	var logs bytes.Buffer
	first := newRememberAt(t, root, nil, "3s")
	var out collect
	for _, tm := range []int64{1000, 2000, 3000} {
		if err := first.Process(context.Background(), batch(tm), &out); err != nil {
			t.Fatal(err)
		}
	}
	var snap bytes.Buffer
	if err := first.Snapshot(&snap); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(root, "remember", "batch-2000.frames")); err != nil {
		t.Fatal(err)
	}
	second := newRememberAt(t, root, &logs, "3s")
	if err := second.Restore(&snap); err != nil {
		t.Fatal(err)
	}
	if err := second.Process(context.Background(), batch(4000), &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), `level=WARN msg="batch files of the restored checkpoint are missing (removed by hand?): slice will not find these batches"`) ||
		!strings.Contains(logs.String(), "times=[2000]") {
		t.Errorf("log:\n%s", logs.String())
	}
	// 1000 has left the window but stays while the restored checkpoint,
	// which needs it, may be restored again.
	if got, want := second.kept, []int64{1000, 3000, 4000}; !slices.Equal(got, want) {
		t.Errorf("kept %v, want %v", got, want)
	}
}

func TestRememberRestoreRejects(t *testing.T) {
	for _, tt := range []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "no version"},
		{"version", []byte{2, 0}, "version 2, want 1"},
		{"no count", []byte{1}, "no batch count"},
		{"huge count", []byte{1, 0xff, 0xff, 0xff, 0xff, 0x0f, 2}, "cannot fit in 1 bytes"},
		{"cut time", []byte{1, 2, 2, 0x80}, "batch time 2 of 2 is cut short"},
		{"not ascending", []byte{1, 2, 4, 2}, "batch time 1 is not after 2"},
		{"trailing", []byte{1, 1, 2, 0}, "1 bytes after the last batch time"},
	} {
		r := newRememberAt(t, t.TempDir(), nil, "3s")
		err := r.Restore(bytes.NewReader(tt.data))
		if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, errRememberSnapshot) {
			t.Errorf("%s: got %v, want an error with %q", tt.name, err, tt.want)
		}
	}
}

func TestRememberRestoreShorterD(t *testing.T) {
	root := t.TempDir()
	first := newRememberAt(t, root, nil, "5s")
	var out collect
	for i := int64(1); i <= 5; i++ {
		if err := first.Process(context.Background(), batch(i*1000), &out); err != nil {
			t.Fatal(err)
		}
	}
	var snap bytes.Buffer
	if err := first.Snapshot(&snap); err != nil {
		t.Fatal(err)
	}
	second := newRememberAt(t, root, nil, "2s")
	if err := second.Restore(&snap); err != nil {
		t.Fatal(err)
	}
	if err := second.Process(context.Background(), batch(6000), &out); err != nil {
		t.Fatal(err)
	}
	// 4000 stays for the restored checkpoint; slice sees the last 2 s.
	if got := names(dirFiles(t, filepath.Join(root, "remember"))); got != "batch-4000.frames batch-5000.frames batch-6000.frames" {
		t.Errorf("directory holds %s", got)
	}
	if got, want := sliceAll(t, root), renderTimed([]*frame.Batch{batch(5000), batch(6000)}); got != want {
		t.Errorf("slice sees\n%s\nwant\n%s", got, want)
	}
}

func BenchmarkRemember(b *testing.B) {
	root := b.TempDir()
	dir, err := checkpoint.Open(root, "remember")
	if err != nil {
		b.Fatal(err)
	}
	r := &remember{dir: dir, keep: 10000, log: slog.New(slog.DiscardHandler)}
	recs := make([]string, 10000)
	for i := range recs {
		recs[i] = fmt.Sprintf("key%d\tvalue %d", i%100, i)
	}
	in := batch(0, recs)
	var out discard
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		in.Time = int64(i+1) * 1000
		if err := r.Process(context.Background(), in, out); err != nil {
			b.Fatal(err)
		}
	}
}

// Restore never panics, and the state it accepts survives a snapshot and
// a restore unchanged.
func FuzzRememberRestore(f *testing.F) {
	f.Add([]byte{1, 0})
	f.Add([]byte{1, 3, 0xd0, 0x0f, 0xa0, 0x1f, 0xf0, 0x2e})
	f.Add([]byte{1, 0xff, 0xff, 0xff, 0xff, 0x0f})
	root := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		r := newRememberAt(t, root, nil, "1h")
		if err := r.Restore(bytes.NewReader(data)); err != nil {
			return
		}
		var once, twice bytes.Buffer
		if err := r.Snapshot(&once); err != nil {
			t.Fatal(err)
		}
		again := newRememberAt(t, root, nil, "1h")
		if err := again.Restore(bytes.NewReader(once.Bytes())); err != nil {
			t.Fatalf("restoring its own snapshot %x: %v", once.Bytes(), err)
		}
		if err := again.Snapshot(&twice); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(once.Bytes(), twice.Bytes()) {
			t.Errorf("from %x: snapshot %x, then %x", data, once.Bytes(), twice.Bytes())
		}
	})
}
