package source

import (
	"fmt"
	"strings"
	"testing"

	"dstream/lib/frame"
)

func TestSlice(t *testing.T) {
	tests := []struct {
		n, p int
		want string // partition sizes
	}{
		{0, 1, "[0]"},
		{0, 3, "[0 0 0]"},
		{5, 1, "[5]"},
		{5, 2, "[2 3]"},
		{10, 3, "[3 3 4]"},
		{2, 4, "[0 1 0 1]"},
		{7, 7, "[1 1 1 1 1 1 1]"},
	}
	for _, tt := range tests {
		recs := make([]frame.Record, tt.n)
		parts := Slice(nil, recs, tt.p)
		sizes := make([]int, len(parts))
		for i, p := range parts {
			sizes[i] = len(p.Records)
		}
		if got := fmt.Sprint(sizes); got != tt.want {
			t.Errorf("Slice(%d records, %d): sizes %s, want %s", tt.n, tt.p, got, tt.want)
		}
	}
}

func TestBatcherKeepsOrderAndReuses(t *testing.T) {
	b := NewBatcher(1000, 2)
	var c collect
	for _, v := range []string{"a", "b", "c"} {
		b.Add(nil, false, []byte(v))
	}
	b.Add([]byte("k"), true, []byte("v"))
	if err := b.EmitReset(&c, 1000); err != nil {
		t.Fatal(err)
	}
	b.Add(nil, false, []byte("d"))
	b.EmitReset(&c, 2000)
	b.EmitReset(&c, 3000)
	want := "1000: a b | c k=v\n2000: | d\n3000: |"
	if got := strings.Join(c.batches(), "\n"); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestArenaLongValues(t *testing.T) {
	var a arena
	big := strings.Repeat("x", arenaChunk+10)
	v1 := a.copy([]byte("small"))
	v2 := a.copy([]byte(big))
	v3 := a.copy([]byte("after"))
	if string(v1) != "small" || string(v2) != big || string(v3) != "after" {
		t.Fatal("arena lost a value")
	}
	a.reset()
	v4 := a.copy([]byte("again"))
	if string(v4) != "again" || string(v1) != "again" {
		t.Errorf("arena did not reuse its first chunk: %q %q", v4, v1)
	}
}
