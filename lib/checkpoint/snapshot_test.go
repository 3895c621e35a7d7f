package checkpoint

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestSnapshotRoundTrip(t *testing.T) {
	for _, state := range [][]byte{nil, []byte("x"), bytes.Repeat([]byte("state "), 100000)} {
		m := Meta{ID: 42, Stage: "window", Config: "3s/2s"}
		b := EncodeSnapshot(m, state)
		got, st, err := DecodeSnapshot(b)
		if err != nil {
			t.Fatal(err)
		}
		if got != m || !bytes.Equal(st, state) {
			t.Fatalf("round trip: got %+v and %d bytes, want %+v and %d", got, len(st), m, len(state))
		}
	}
}

// Every cut and every flipped byte is caught: a snapshot restores whole or
// not at all.
func TestSnapshotDamage(t *testing.T) {
	b := EncodeSnapshot(Meta{ID: 7, Stage: "updatestatebykey", Config: "sum"}, bytes.Repeat([]byte("k\tv\n"), 500))
	for n := 0; n < len(b); n++ {
		if _, _, err := DecodeSnapshot(b[:n]); err == nil {
			t.Fatalf("a snapshot cut to %d of %d bytes was accepted", n, len(b))
		}
	}
	for i := range b {
		d := bytes.Clone(b)
		d[i] ^= 0x10
		if _, _, err := DecodeSnapshot(d); err == nil {
			t.Fatalf("a snapshot with byte %d flipped was accepted", i)
		}
	}
	_, _, err := DecodeSnapshot(b[:len(b)-1])
	var se *SnapshotError
	if !errors.As(err, &se) || !strings.Contains(err.Error(), "checksum") {
		t.Errorf("cut short: %v", err)
	}
	v := bytes.Clone(b)
	v[6] = 9
	if _, _, err := DecodeSnapshot(v); err == nil || !strings.Contains(err.Error(), "version 9") {
		t.Errorf("version: %v", err)
	}
	if _, _, err := DecodeSnapshot([]byte("hello")); err == nil || !strings.Contains(err.Error(), "not a dstream snapshot") {
		t.Errorf("magic: %v", err)
	}
}
