package ops

import (
	"context"
	"strings"
	"testing"

	"dstream/lib/frame"
	"dstream/lib/stage"
)

func TestTransformWith(t *testing.T) {
	big := make([]string, 50000)
	for i := range big {
		big[i] = "some longer line to fill the pipes"
	}
	tests := []struct {
		name string
		args []string
		a, b *frame.Batch
		want string
	}{
		{"stdin and fd 3", []string{"--", "other", "sh", "-c", "echo other; cat /dev/fd/3; echo stdin; cat"},
			batch(1000, []string{"a1"}, []string{"a2"}), batch(1000, []string{"b1"}), "1000/1000 [=other =b1 =stdin =a1 =a2]"},
		// Spark BasicOperationsSuite "transformWith": rdd1.join(rdd2).
		{"join", []string{"--keyed", "--", "other", "awk", "-F", "\t",
			`FILENAME == "/dev/fd/3" {w[$1] = $2; next} $1 in w {print $1 "\t[" $2 ",\"" w[$1] "\"]"}`, "/dev/fd/3", "-"},
			batch(1000, []string{"a\t1", "b\t1"}), batch(1000, []string{"a\tx", "b\tx"}), `1000/1000 [a=[1,"x"] b=[1,"x"]]`},
		{"big inputs, fd 3 read first", []string{"--", "other", "sh", "-c", "wc -l </dev/fd/3; wc -l"},
			batch(1000, big), batch(1000, big[:40000]), "1000/1000 [=40000 =50000]"},
		{"big inputs, read by neither", []string{"--", "other", "true"},
			batch(1000, big), batch(1000, big), "1000/1000 []"},
		{"both empty", []string{"--", "other", "echo", "ran"}, batch(1000), batch(1000), "1000/1000 [=ran]"},
		{"both empty, --skip-empty", []string{"--skip-empty", "--", "other", "echo", "ran"}, batch(1000), batch(1000), "1000/1000 []"},
	}
	for _, tt := range tests {
		var out collect
		op := newStage(t, TransformWith, nil, tt.args...).(stage.MultiOperator)
		if got := strings.Join(op.Inputs(), " "); got != "other" {
			t.Fatalf("%s: inputs %q", tt.name, got)
		}
		if err := op.ProcessAligned(context.Background(), []*frame.Batch{tt.a, tt.b}, &out); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if len(out) != 1 || batchString(out[0]) != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, batchString(out[0]), tt.want)
		}
	}
}

func TestTransformWithErrors(t *testing.T) {
	tests := []struct {
		args []string
		a, b *frame.Batch
		want string
	}{
		{[]string{"--", "o.frames", "sh", "-c", "exit 5"}, batch(1000), batch(1000), "batch 1000: sh exited with status 5 (no stderr)"},
		{[]string{"--", "o.frames", "cat"}, batch(1000, []string{"a\nb"}), batch(1000, []string{"x"}), "batch 1000: stdin: record 0 holds a newline (the command reads one record per line)"},
		{[]string{"--", "o.frames", "cat"}, batch(1000, []string{"a"}), batch(1000, []string{"x", "y\n"}), "batch 1000: o.frames: record 1 holds a newline (the command reads one record per line)"},
	}
	for _, tt := range tests {
		op := newStage(t, TransformWith, nil, tt.args...).(stage.MultiOperator)
		err := op.ProcessAligned(context.Background(), []*frame.Batch{tt.a, tt.b}, &collect{})
		if err == nil || err.Error() != tt.want {
			t.Errorf("%q: got %v, want %s", tt.args, err, tt.want)
		}
	}
}
