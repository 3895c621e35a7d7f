package ops

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"dstream/lib/frame"
	"dstream/lib/stage"
)

// runProduce runs produce with args on a FakeClock at 10.5 s and returns
// its exit status, its frames as text and its stderr.
func runProduce(t *testing.T, stdin string, args ...string) (int, []string, string) {
	t.Helper()
	var out, errs bytes.Buffer
	code := stage.Run(Produce, append([]string{"produce"}, args...), stage.IO{
		Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errs,
		Signals: make(chan os.Signal), Clock: stage.NewFakeClock(time.UnixMilli(10_500)),
	})
	var frames []string
	rd := frame.NewReader(&out, 0)
	for {
		f, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if f.Type != frame.TypeBatch {
			frames = append(frames, f.Type.String())
			continue
		}
		s := fmt.Sprintf("%d/%d:", f.Batch.Time, f.Batch.Interval)
		for i, p := range f.Batch.Partitions {
			if i > 0 {
				s += " |"
			}
			for _, r := range p.Records {
				s += " " + string(r.Value)
			}
		}
		frames = append(frames, s)
	}
	return code, frames, errs.String()
}

func TestProduceStdinAtEOF(t *testing.T) {
	// At the end of input the current batch goes out at its time at once.
	code, frames, stderr := runProduce(t, "a\nb\r\nc", "--batch", "2s", "--partitions", "2")
	want := "12000/2000: a | b c EOS" // 10.5 s is in the batch of [10 s, 12 s)
	if got := strings.Join(frames, " "); code != 0 || got != want {
		t.Errorf("exit %d, frames %q, want %q; stderr %s", code, got, want, stderr)
	}
}

func TestProducePartitions(t *testing.T) {
	dir := t.TempDir()
	five := filepath.Join(dir, "five.txt")
	os.WriteFile(five, []byte("1\n2\n3\n4\n5\n"), 0o644)
	_, frames, _ := runProduce(t, "", "--queue", "--partitions", "3", five, "--batches", "2")
	want := "1000/1000: 1 | 2 3 | 4 5 2000/1000: | | EOS"
	if got := strings.Join(frames, " "); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	_, frames, _ = runProduce(t, "", "--queue", "--partitions", "7", five)
	want = "1000/1000: | 1 | 2 | | 3 | 4 | 5 EOS"
	if got := strings.Join(frames, " "); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestProduceExitCodes(t *testing.T) {
	tests := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"--batch", "1.5ms"}, stage.ExitUsage, "produce: --batch 1.5ms: want a positive Go duration of whole milliseconds, like 500ms or 2s\n"},
		{[]string{"--queue", "--watch", "d"}, stage.ExitUsage, "produce: --queue and --watch both given"},
		{[]string{"--generate", "transactions", "--late", "x"}, stage.ExitUsage, "produce: --late does not apply to --generate mode (it is for --event-time)\n"},
		{[]string{"--queue", "--default", "x"}, stage.ExitUsage, "produce: --queue: no FILE given"},
		{[]string{"no-such-file"}, stage.ExitRuntime, "produce: open no-such-file: no such file or directory\n"},
		{[]string{"--format", "csv", "--event-time", "1", "-"}, stage.ExitRuntime, `produce: stdin:1: event-time field 1 is "x": bad time, want epoch milliseconds` + "\n"},
	}
	for _, tt := range tests {
		code, _, stderr := runProduce(t, "x\n", tt.args...)
		if code != tt.code || !strings.HasPrefix(stderr, tt.msg) {
			t.Errorf("%q: exit %d, stderr %q; want %d, %q", tt.args, code, stderr, tt.code, tt.msg)
		}
	}
}

func TestProduceGenerateSeed(t *testing.T) {
	args := []string{"--generate", "transactions", "--randomize", "--seed", "7", "--count", "20", "--no-delay", "--start", "0"}
	_, f1, s1 := runProduce(t, "", args...)
	_, f2, s2 := runProduce(t, "", args...)
	if strings.Join(f1, "\n") != strings.Join(f2, "\n") || s1 != s2 || strings.Count(s1, "Sent -> ") != 20 {
		t.Errorf("--seed 7 runs differ or miss lines:\n%s\n%s", s1, s2)
	}
	_, _, s3 := runProduce(t, "", "--generate", "transactions", "--randomize", "--count", "1", "--no-delay")
	if !strings.Contains(s3, "random seed (repeat the run with --seed)") {
		t.Errorf("the random seed is not logged: %q", s3)
	}
}

func TestProduceHelp(t *testing.T) {
	var out bytes.Buffer
	stage.Run(Produce, []string{"produce", "--help"}, stage.IO{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &out, Clock: stage.RealClock{}})
	for _, want := range []string{"--event-time FIELD", "--queue FILE...", "--generate transactions", "Examples:", "--realtime"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("--help lacks %q", want)
		}
	}
}
