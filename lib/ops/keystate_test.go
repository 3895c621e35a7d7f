package ops

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// checkTable compares t with a model: the live keys in order, and their
// states.
func checkTable(t *testing.T, tbl *keyStates, order []string, model map[string]string) {
	t.Helper()
	var got []string
	for e := range tbl.ents {
		if tbl.alive(e) {
			got = append(got, string(tbl.key(e)))
		}
	}
	if strings.Join(got, ",") != strings.Join(order, ",") {
		t.Fatalf("order: got %v, want %v", got, order)
	}
	if tbl.live != len(model) {
		t.Fatalf("live = %d, want %d", tbl.live, len(model))
	}
	slots := 0
	for _, s := range tbl.index {
		if s != 0 {
			slots++
		}
	}
	if slots != len(model) {
		t.Fatalf("%d index slots in use for %d keys", slots, len(model))
	}
	for k, v := range model {
		e, _ := tbl.find([]byte(k))
		if e < 0 {
			t.Fatalf("key %q not found", k)
		}
		if s, ok := tbl.state(e); !ok || string(s) != v {
			t.Fatalf("key %q: state %q %v, want %q", k, s, ok, v)
		}
	}
}

// TestKeyStatesRandom runs random inserts, updates and removals, with
// compactions between rounds, against a map and an ordered list: the
// index (backward-shift deletion, growth) and the arenas must agree.
func TestKeyStatesRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	tbl := newKeyStates(true)
	model := map[string]string{}
	var order []string
	for round := range 60 {
		for range 2000 {
			k := fmt.Sprintf("k%d", rng.IntN(3000))
			e, h := tbl.find([]byte(k))
			_, in := model[k]
			if (e >= 0) != in {
				t.Fatalf("round %d: find(%q) = %d, model has it: %v", round, k, e, in)
			}
			switch op := rng.IntN(10); {
			case op < 3 && in:
				tbl.remove(e)
				delete(model, k)
				for i, o := range order {
					if o == k {
						order = append(order[:i], order[i+1:]...)
						break
					}
				}
			default:
				v := strings.Repeat("v", rng.IntN(12))
				if !in {
					var err error
					if e, err = tbl.insert([]byte(k), h); err != nil {
						t.Fatal(err)
					}
					order = append(order, k)
				}
				if err := tbl.set(e, []byte(v)); err != nil {
					t.Fatal(err)
				}
				tbl.seen[e] = int64(round)
				model[k] = v
			}
		}
		checkTable(t, tbl, order, model)
		if round%3 == 0 {
			tbl.compactEntries()
		} else {
			tbl.compact()
		}
		checkTable(t, tbl, order, model)
	}
	// Empty it: the compaction shrinks the index.
	for _, k := range order {
		e, _ := tbl.find([]byte(k))
		tbl.remove(e)
	}
	tbl.compact()
	if tbl.live != 0 || len(tbl.ents) != 0 || len(tbl.index) > 2048 {
		t.Fatalf("after removing everything: %d live, %d entries, %d slots", tbl.live, len(tbl.ents), len(tbl.index))
	}
}

// TestKeyStatesSnapshot round-trips a table (timed, with big and empty
// states, over several frames) and rejects every damaged form.
func TestKeyStatesSnapshot(t *testing.T) {
	tbl := newKeyStates(true)
	var order []string
	model := map[string]string{}
	for i := range 3000 {
		k := fmt.Sprintf("key-%d", i)
		e, h := tbl.find([]byte(k))
		e, _ = tbl.insert([]byte(k), h)
		v := strings.Repeat("x", i%2000)
		tbl.set(e, []byte(v))
		tbl.seen[e] = int64(1000 * (i % 7))
		order = append(order, k)
		model[k] = v
	}
	var buf bytes.Buffer
	if err := tbl.writeTo(&buf, 9000); err != nil {
		t.Fatal(err)
	}
	snap := buf.Bytes()
	if len(snap) < 2*ksChunk {
		t.Fatalf("want a snapshot of several frames, got %d bytes", len(snap))
	}
	back := newKeyStates(true)
	if err := back.readFrom(bufio.NewReader(bytes.NewReader(snap)), 9000, len(snap)); err != nil {
		t.Fatal(err)
	}
	checkTable(t, back, order, model)
	for e := range back.ents {
		if back.seen[e] != int64(1000*(e%7)) {
			t.Fatalf("entry %d: seen %d", e, back.seen[e])
		}
	}
	// The counts are the first three uvarints: 3000 (2 bytes), the key
	// bytes, the state bytes.
	bad := map[string][]byte{
		"cut":           snap[:len(snap)/2],
		"more keys":     append([]byte{0xb7, 0x17}, snap[2:]...), // 2999
		"fewer keys":    append([]byte{0xb9, 0x17}, snap[2:]...), // 3001
		"trailing data": append(bytes.Clone(snap), 0),
		"flipped byte": func() []byte {
			b := bytes.Clone(snap)
			b[len(b)/3] ^= 0x40
			return b
		}(),
	}
	if snap[0] != 0xb8 || snap[1] != 0x17 {
		t.Fatalf("snapshot starts % x, want the uvarint of 3000", snap[:2])
	}
	for name, data := range bad {
		if err := newKeyStates(true).readFrom(bufio.NewReader(bytes.NewReader(data)), 9000, len(data)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	for n := 0; n < 200; n++ {
		if err := newKeyStates(true).readFrom(bufio.NewReader(bytes.NewReader(snap[:n])), 9000, -1); err == nil {
			t.Fatalf("cut to %d bytes: accepted", n)
		}
	}
}

func TestStateArg(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want any
	}{
		{"12", 12}, {"-3.5", -3.5}, {"1e3", 1000.0}, {"007", "007"}, {"-", "-"}, {"", ""},
		{"true", true}, {"false", false}, {"null", "null"}, {"abc", "abc"},
		{"[1,\"a\"]", []any{1, "a"}}, {`{"n":2}`, map[string]any{"n": 2}},
	} {
		got := stateArg([]byte(tt.in))
		if fmt.Sprintf("%#v", got) != fmt.Sprintf("%#v", tt.want) {
			t.Errorf("stateArg(%q) = %#v, want %#v", tt.in, got, tt.want)
		}
	}
}
