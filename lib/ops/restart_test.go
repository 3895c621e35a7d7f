package ops

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"dstream/lib/frame"
	"dstream/lib/stage"
)

// renderTimed renders batches one per line group: "T/INTERVAL" then the
// records ("|" between partitions, "+" after a chunk with More).
func renderTimed(bs []*frame.Batch) string {
	var b strings.Builder
	for _, bt := range bs {
		fmt.Fprintf(&b, "%d/%d\n", bt.Time, bt.Interval)
		b.WriteString(renderBatches([]*frame.Batch{bt}))
	}
	return b.String()
}

// runStateful feeds in to st batch by batch, then Finish when last (as at
// EOS), and returns what it emitted.
func runStateful(t *testing.T, st any, in []*frame.Batch, last bool) collect {
	t.Helper()
	var out collect
	ctx := context.Background()
	for _, b := range in {
		if err := st.(stage.Operator).Process(ctx, b, &out); err != nil {
			t.Fatalf("batch %d: %v", b.Time, err)
		}
	}
	if f, ok := st.(stage.Finisher); ok && last {
		if err := f.Finish(ctx, &out); err != nil {
			t.Fatalf("finish: %v", err)
		}
	}
	return out
}

// checkRestart is the recovery contract of a stateful stage (a
// stage.Snapshotter): runs in through spec's stage built from args without
// interruption, and again cut after every whole batch k — the first k
// batches, Snapshot, a new stage Restored from it, the rest, Finish — and
// fails unless every cut run emits exactly what the uninterrupted run
// emits. It also checks that a snapshot is deterministic (taken twice, the
// same bytes) and that Restore rejects a snapshot cut short. It returns the
// uninterrupted output, rendered by renderTimed, for the caller's own
// assertions.
func checkRestart(t *testing.T, spec *stage.Spec, args []string, in []*frame.Batch) string {
	t.Helper()
	want := renderTimed(runStateful(t, newStage(t, spec, nil, args...), in, true))
	for k := 0; k <= len(in); k++ {
		if k > 0 && in[k-1].More {
			continue // barriers come between whole batches only
		}
		first := newStage(t, spec, nil, args...)
		got := runStateful(t, first, in[:k], false)
		sn := first.(stage.Snapshotter)
		var snap, again bytes.Buffer
		if err := sn.Snapshot(&snap); err != nil {
			t.Fatalf("cut after %d batches: snapshot: %v", k, err)
		}
		if err := sn.Snapshot(&again); err != nil || !bytes.Equal(snap.Bytes(), again.Bytes()) {
			t.Fatalf("cut after %d batches: two snapshots of the same state differ (%v)", k, err)
		}
		if n := snap.Len(); n > 0 {
			torn := newStage(t, spec, nil, args...).(stage.Snapshotter)
			if err := torn.Restore(bytes.NewReader(snap.Bytes()[:n-1])); err == nil {
				t.Errorf("cut after %d batches: Restore accepted a snapshot missing its last byte", k)
			}
		}
		second := newStage(t, spec, nil, args...)
		if err := second.(stage.Snapshotter).Restore(bytes.NewReader(snap.Bytes())); err != nil {
			t.Fatalf("cut after %d batches: restore: %v", k, err)
		}
		got = append(got, runStateful(t, second, in[k:], true)...)
		if s := renderTimed(got); s != want {
			t.Fatalf("cut after %d batches: got\n%s\nwant (uninterrupted)\n%s", k, s, want)
		}
	}
	return want
}
