package ops

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"dstream/lib/frame"
)

func batchesOf(bs ...*frame.Batch) []*frame.Batch { return bs }

func TestCountByValue(t *testing.T) {
	in := batchesOf(
		batch(1000, []string{"b", "a", "b"}, []string{"a", "", "b"}),
		batch(2000),
		// Pairs are elements: (k,1) twice; the value "k\t1" unkeyed and the
		// pair (k\t1, "") are other elements with the same text.
		batch(3000, []string{"k\t1", "k\t2", "k\t1"}),
		more(batch(4000, []string{"x"})), batch(4000, []string{"x"}),
	)
	got, err := run(t, CountByValue, nil, in...)
	if want := "1000: b=3 a=2 =1\n2000: \n3000: k\t1=2 k\t2=1\n4000: x=2"; err != nil || got != want {
		t.Errorf("got %q, %v\nwant %q", got, err, want)
	}
	b := &frame.Batch{Time: 5000, Partitions: []frame.Partition{{Records: []frame.Record{
		{Value: []byte("a\tb")}, {Key: []byte("a"), Value: []byte("b"), Keyed: true},
		{Key: []byte("a\tb"), Value: []byte(""), Keyed: true}, {Key: []byte("a"), Value: []byte("b"), Keyed: true},
	}}}}
	got, err = run(t, CountByValue, nil, b)
	if want := "5000: a\tb=1 a\tb=2 a\tb\t=1"; err != nil || got != want {
		t.Errorf("got %q, %v\nwant %q", got, err, want)
	}
	// FNV-1a mod 2: a 0, b 1, "" 1.
	got, _ = run(t, CountByValue, []string{"--partitions", "2"}, in[0])
	if want := "1000: a=2|b=3 =1"; got != want {
		t.Errorf("--partitions 2: got %q, want %q", got, want)
	}
}

// Counting a chunk's partitions in parallel gives what counting them one
// after another gives, elements in the same order.
func TestCountByValueParallel(t *testing.T) {
	checkParallel(t, CountByValue, chunksForParallel(3, true, func(rng *rand.Rand) string {
		return fmt.Sprintf("v%d", rng.IntN(3000))
	}))
}
