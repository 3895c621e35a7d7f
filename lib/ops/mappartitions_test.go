package ops

import (
	"context"
	"testing"

	"dstream/lib/frame"
	"dstream/lib/stage"
)

func TestMapPartitions(t *testing.T) {
	tests := []struct {
		name string
		args []string
		in   *frame.Batch
		want string
	}{
		// Spark BasicOperationsSuite "mapPartitions": x => Iterator(x.sum).
		{"sum per partition", []string{"--", "awk", "{s += $1} END {print s + 0}"},
			batch(1000, []string{"1", "2"}, []string{"3", "4"}), "1000/1000 [=3] [=7]"},
		{"partition number, empty partitions run", []string{"--", "sh", "-c", "echo $DSTREAM_PARTITION; wc -l"},
			batch(1000, []string{"a", "b"}, nil, []string{"c"}), "1000/1000 [=0 =2] [=1 =0] [=2 =1]"},
		{"--skip-empty", []string{"--skip-empty", "--", "wc", "-l"},
			batch(1000, []string{"a", "b"}, nil, []string{"c"}), "1000/1000 [=2] [] [=1]"},
		{"keyed", []string{"--keyed", "--", "sort", "-r"},
			batch(2000, []string{"a\t1", "b\t2"}, []string{"c\t3"}), "2000/1000 [b=2 a=1] [c=3]"},
		{"no partitions", []string{"--", "cat"}, batch(3000), "3000/1000 "},
	}
	for _, tt := range tests {
		for _, par := range []string{"1", "2", "0"} {
			var out collect
			args := append([]string{"--parallelism", par}, tt.args...)
			op := newStage(t, MapPartitions, nil, args...).(stage.Operator)
			if err := op.Process(context.Background(), tt.in, &out); err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			if len(out) != 1 || batchString(out[0]) != tt.want {
				t.Errorf("%s, --parallelism %s: got %q, want %q", tt.name, par, batchString(out[0]), tt.want)
			}
		}
	}
}

// A batch in chunks is gathered: one run per whole partition.
func TestMapPartitionsChunks(t *testing.T) {
	var out collect
	op := newStage(t, MapPartitions, nil, "--", "wc", "-l").(stage.Operator)
	chunks := []*frame.Batch{batch(1000, []string{"a"}, []string{"b"}), batch(1000, []string{"c"}, nil)}
	chunks[0].More = true
	for _, c := range chunks {
		if err := op.Process(context.Background(), c, &out); err != nil {
			t.Fatal(err)
		}
	}
	if len(out) != 1 || batchString(out[0]) != "1000/1000 [=2] [=1]" {
		t.Errorf("got %d batches, first %s", len(out), batchString(out[0]))
	}
}

// The lowest failing partition is named, however the runs were timed.
func TestMapPartitionsError(t *testing.T) {
	in := batch(1000, []string{"ok"}, []string{"x"}, []string{"ok"}, []string{"x"}, []string{"x"})
	for _, par := range []string{"1", "3", "8"} {
		op := newStage(t, MapPartitions, nil, "--parallelism", par, "--", "sh", "-c", `read v; [ "$v" = ok ] || { sleep 0.$((5 - DSTREAM_PARTITION)); exit $DSTREAM_PARTITION; }`).(stage.Operator)
		err := op.Process(context.Background(), in, &collect{})
		if want := "batch 1000, partition 1: sh exited with status 1 (no stderr)"; err == nil || err.Error() != want {
			t.Errorf("--parallelism %s: got %v, want %s", par, err, want)
		}
	}
	if _, err := buildStage(t, MapPartitions, "--parallelism", "-1", "--", "cat"); err == nil || err.Error() != "--parallelism -1: want 1 or more commands at a time (or 0 for the number of CPUs)" {
		t.Errorf("--parallelism -1: got %v", err)
	}
}
