package ops

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"strings"
	"testing"

	"dstream/lib/frame"
	"dstream/lib/stage"

	"github.com/urfave/cli/v2"
)

// records renders a batch's partitions as "[k=v ...] [...]" with the time.
func batchString(b *frame.Batch) string {
	return fmt.Sprintf("%d/%d %s", b.Time, b.Interval, partitionsOf(b))
}

func TestTransform(t *testing.T) {
	tests := []struct {
		name string
		args []string
		in   []*frame.Batch
		want []string
	}{
		{"sort over all partitions, one partition out", []string{"--", "sort"},
			[]*frame.Batch{batch(1000, []string{"c", "a"}, []string{"b"})}, []string{"1000/1000 [=a =b =c]"}},
		{"output order is the command's", []string{"--", "tac"},
			[]*frame.Batch{batch(1000, []string{"1", "2"}, []string{"3"})}, []string{"1000/1000 [=3 =2 =1]"}},
		{"keyed round trip", []string{"--keyed", "--", "cat"},
			[]*frame.Batch{batch(2000, []string{"k\tv", "\tempty key", "t\tx\ty"})}, []string{"2000/1000 [k=v =empty key t=x\ty]"}},
		{"keyed input, unkeyed output", []string{"--", "cat"},
			[]*frame.Batch{batch(2000, []string{"k\tv"})}, []string{"2000/1000 [=k\tv]"}},
		{"empty batch runs the command", []string{"--", "wc", "-l"},
			[]*frame.Batch{batch(3000, []string{})}, []string{"3000/1000 [=0]"}},
		{"--skip-empty", []string{"--skip-empty", "--", "wc", "-l"},
			[]*frame.Batch{batch(3000, []string{}), batch(4000, []string{"x"})}, []string{"3000/1000 []", "4000/1000 [=1]"}},
		{"environment", []string{"--", "sh", "-c", "echo $DSTREAM_TIME $DSTREAM_INTERVAL $DSTREAM_PARTITION."},
			[]*frame.Batch{batch(5000, []string{"x"})}, []string{"5000/1000 [=5000 1000 .]"}},
		{"a last line without newline, empty lines", []string{"--", "printf", "a\\n\\nb"},
			[]*frame.Batch{batch(1000)}, []string{"1000/1000 [=a = =b]"}},
		{"a command that reads nothing", []string{"--", "echo", "hi"},
			[]*frame.Batch{batch(1000, []string{strings.Repeat("x", 1<<20)})}, []string{"1000/1000 [=hi]"}},
		{"--ok-status", []string{"--ok-status", "0,1", "--", "grep", "z"},
			[]*frame.Batch{batch(1000, []string{"x"}), batch(2000, []string{"z"})}, []string{"1000/1000 []", "2000/1000 [=z]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out collect
			op := newStage(t, Transform, nil, tt.args...).(stage.Operator)
			for _, b := range tt.in {
				if err := op.Process(context.Background(), b, &out); err != nil {
					t.Fatal(err)
				}
			}
			var got []string
			for _, b := range out {
				got = append(got, batchString(b))
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

// A batch in chunks is one run of the command.
func TestTransformChunks(t *testing.T) {
	for _, skip := range []string{"--ok-status=0", "--skip-empty"} {
		var out collect
		op := newStage(t, Transform, nil, skip, "--", "sh", "-c", "echo runs; wc -l").(stage.Operator)
		chunks := []*frame.Batch{batch(1000), batch(1000, []string{"a", "b"}), batch(1000, []string{"c"}, []string{"d"})}
		for i, c := range chunks {
			c.More = i < len(chunks)-1
			if err := op.Process(context.Background(), c, &out); err != nil {
				t.Fatal(err)
			}
		}
		if len(out) != 1 || batchString(out[0]) != "1000/1000 [=runs =4]" || out[0].More {
			t.Errorf("%s: got %d batches, first %s", skip, len(out), batchString(out[0]))
		}
	}
}

func TestTransformErrors(t *testing.T) {
	var lines []string
	for i := 1; i <= 12; i++ {
		lines = append(lines, fmt.Sprintf("echo line%d >&2", i))
	}
	tests := []struct {
		args []string
		in   *frame.Batch
		want string
	}{
		{[]string{"--", "sh", "-c", "exit 3"}, batch(1000, []string{"x"}), "batch 1000: sh exited with status 3 (no stderr)"},
		{[]string{"--", "sh", "-c", strings.Join(lines, "; ") + "; exit 4"}, batch(1000),
			`batch 1000: sh exited with status 4 (stderr ends "line3\nline4\nline5\nline6\nline7\nline8\nline9\nline10\nline11\nline12")`},
		{[]string{"--", "sh", "-c", "kill -TERM $$"}, batch(1000), "batch 1000: sh was killed by signal SIGTERM (no stderr)"},
		{[]string{"--", "grep", "z"}, batch(1000, []string{"x"}), "batch 1000: grep exited with status 1 (no stderr)"},
		{[]string{"--", "cat"}, batch(1000, []string{"ok", "a\nb"}), "batch 1000: record 1 holds a newline (the command reads one record per line)"},
		{[]string{"--keyed", "--", "cat"}, batch(1000, []string{"k\tv", "plain"}), "batch 1000: line 2 of cat's output has no TAB (--keyed wants KEY<TAB>VALUE)"},
	}
	for _, tt := range tests {
		var stderr bytes.Buffer
		op := newStage(t, Transform, nil, tt.args...).(*transform)
		op.c.stderr.w = &stderr
		err := op.Process(context.Background(), tt.in, &collect{})
		if err == nil || err.Error() != tt.want {
			t.Errorf("%q: got error %v, want %s", tt.args, err, tt.want)
		}
	}
}

func TestCommandUsage(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--", "no-such-command-here"}, `cannot run "no-such-command-here": executable file not found in $PATH`},
		{[]string{"--", "./no/such/file"}, `cannot run "./no/such/file": stat ./no/such/file: no such file or directory`},
		{[]string{"--ok-status", "0,x", "--", "cat"}, `--ok-status "0,x": want exit statuses from 0 to 255, separated by commas, like 0,1`},
		{[]string{"--ok-status", "256", "--", "cat"}, `--ok-status "256": want exit statuses from 0 to 255, separated by commas, like 0,1`},
	}
	for _, tt := range tests {
		_, err := buildStage(t, Transform, tt.args...)
		if err == nil || err.Error() != tt.want {
			t.Errorf("%q: got %v, want %s", tt.args, err, tt.want)
		}
	}
}

func TestOutputLineLimit(t *testing.T) {
	o := cmdOutput{max: 4}
	for _, p := range []string{"abcd\nab", "cd\n", "a\nb"} {
		if _, err := o.Write([]byte(p)); err != nil {
			t.Fatalf("%q: %v", p, err)
		}
	}
	if _, err := o.Write([]byte("cdef")); err == nil {
		t.Error("a 5-byte line across writes: no error")
	}
	o = cmdOutput{max: 4}
	if _, err := o.Write([]byte("ab\nabcde\nx")); err == nil {
		t.Error("a 5-byte line inside one write: no error")
	}
}

func TestStderrTail(t *testing.T) {
	var fwd bytes.Buffer
	var s stderrTail
	s.reset(&sharedStderr{w: &fwd})
	s.Write([]byte("one\ntw"))
	if fwd.String() != "one\n" {
		t.Errorf("forwarded %q before the line ended", fwd.String())
	}
	s.Write([]byte("o"))
	s.flush()
	if fwd.String() != "one\ntwo\n" || s.last() != "one\ntwo" {
		t.Errorf("forwarded %q, tail %q", fwd.String(), s.last())
	}
	s.reset(&sharedStderr{w: &fwd})
	long := strings.Repeat("x", 3000)
	s.Write([]byte(long + "\n"))
	if got := s.last(); got != long[:stderrTailBytes] {
		t.Errorf("tail of a long line: %d bytes, want %d", len(got), stderrTailBytes)
	}
}

// buildStage is newStage for a constructor that should fail: it returns
// the error.
func buildStage(t *testing.T, spec *stage.Spec, args ...string) (any, error) {
	t.Helper()
	set := flag.NewFlagSet(spec.Name, flag.ContinueOnError)
	for _, f := range spec.Flags {
		if err := f.Apply(set); err != nil {
			t.Fatal(err)
		}
	}
	if err := set.Parse(args); err != nil {
		t.Fatal(err)
	}
	return spec.New(&stage.Context{Context: cli.NewContext(cli.NewApp(), set, nil), Spec: spec})
}
