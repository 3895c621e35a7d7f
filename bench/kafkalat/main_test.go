package main

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	s := make([]int64, 100)
	for i := range s {
		s[i] = int64(i + 1)
	}
	for _, c := range []struct {
		p    float64
		want time.Duration
	}{{50, 50}, {99, 99}, {100, 100}, {1, 1}, {0, 1}} {
		if got := percentile(s, c.p); got != c.want {
			t.Errorf("percentile(1..100, %v) = %v, want %v", c.p, got, c.want)
		}
	}
	if got := percentile([]int64{7}, 99); got != 7 {
		t.Errorf("percentile([7], 99) = %v, want 7", got)
	}
}

func TestSendTime(t *testing.T) {
	for in, want := range map[string]int64{
		"1700000000000000000":          1700000000000000000,
		"1000\tk\t1700000000000000000": 1700000000000000000,
	} {
		if got, err := sendTime([]byte(in)); err != nil || got != want {
			t.Errorf("sendTime(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "x", "12a", "-5", "1000\t"} {
		if _, err := sendTime([]byte(in)); err == nil {
			t.Errorf("sendTime(%q): no error", in)
		}
	}
}

func TestRead(t *testing.T) {
	// Sent at 0, 0.5 s, 1 s, 1.5 s, 2 s (plus a base), all read at 2.01 s:
	// the first two are the 1 s warm-up.
	const base = int64(1e18)
	var in strings.Builder
	for i, ms := range []int64{500, 0, 1000, 1500, 2000} { // not in send order
		in.WriteString(strings.Repeat("1000\tkey\t", i%2)) // sink --with-time, keyed
		in.WriteString(strconv.FormatInt(base+ms*1e6, 10))
		in.WriteString("\n")
	}
	now := func() int64 { return base + 2010*1e6 }
	s, err := read(strings.NewReader(in.String()), now, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	want := stats{Count: 5, Warmup: 2, P50: 510 * time.Millisecond, P99: 1010 * time.Millisecond, Max: 1010 * time.Millisecond}
	if s != want {
		t.Errorf("read = %+v, want %+v", s, want)
	}
	if got, w := s.String(), "count=5 warmup=2 p50=510.000ms p99=1010.000ms max=1010.000ms"; got != w {
		t.Errorf("String() = %q, want %q", got, w)
	}

	if _, err := read(strings.NewReader(""), now, 0); err == nil {
		t.Error("read of no lines: no error")
	}
	if _, err := read(strings.NewReader("1\nbad\n"), now, 0); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("read of a bad line: %v, want an error naming line 2", err)
	}
}

func TestRunUsage(t *testing.T) {
	for _, args := range [][]string{nil, {"nope"}, {"write"}, {"write", "--kafka", "x", "--topic", "t"}, {"read", "extra"}} {
		var out, errb bytes.Buffer
		if code := run(args, strings.NewReader(""), &out, &errb); code != 2 {
			t.Errorf("run(%q) = %d, want 2 (stderr %q)", args, code, errb.String())
		}
	}
	var out, errb bytes.Buffer
	if code := run([]string{"read", "--count", "2", "--warmup", "0s"}, strings.NewReader("5\n"), &out, &errb); code != 1 ||
		!strings.Contains(errb.String(), "1 records came out, 2 were expected") {
		t.Errorf("read --count 2 of 1 record: exit %d, stderr %q", code, errb.String())
	}
}
