package source

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"dstream/lib/stage"
)

func TestAppendScalaDouble(t *testing.T) {
	for _, tt := range []struct {
		v    float64
		want string
	}{
		{20.00, "20.0"}, {10.34, "10.34"}, {4322.33, "4322.33"}, {0, "0.0"}, {0.1, "0.1"}, {1073.12, "1073.12"}, {4999.99, "4999.99"},
	} {
		if got := string(AppendScalaDouble(nil, tt.v)); got != tt.want {
			t.Errorf("%v: got %s, want %s", tt.v, got, tt.want)
		}
	}
}

func runGenerate(t *testing.T, cfg GenerateConfig) ([]string, string) {
	t.Helper()
	var sent bytes.Buffer
	cfg.Stderr = &sent
	var c collect
	if err := NewGenerate(cfg).Run(context.Background(), &c); err != nil {
		t.Fatal(err)
	}
	return c.batches(), sent.String()
}

func TestGenerateNonRandom(t *testing.T) {
	batches, sent := runGenerate(t, GenerateConfig{Common: testCommon(nil), NoDelay: true, Start: 0})
	lines := strings.Split(strings.TrimSuffix(sent, "\n"), "\n")
	if len(lines) != TxSteps {
		t.Fatalf("%d lines sent, want %d", len(lines), TxSteps)
	}
	for i, want := range map[int]string{
		0:   "Sent -> 0,01/01/1970,123-ABC-789,10.34,Drug Store",
		5:   "Sent -> 5,01/01/1970,456-DEF-456,20.0,Books",
		7:   "Sent -> 7,01/01/1970,987-CBA-321,4322.33,Misc",
		100: "Sent -> 100,01/01/1970,123-ABC-789,1073.12,Gas",
	} {
		if lines[i] != want {
			t.Errorf("line %d: got %q, want %q", i, lines[i], want)
		}
	}
	// Step s is sent at 50*(1+2+...+(s+1)) ms: 50, 150, 300, 500, 750, 1050, 1400, 1800, 2250...
	want := []string{
		"1000: 0,01/01/1970,123-ABC-789,10.34,Drug Store 1,01/01/1970,456-DEF-456,94.65,Grocery Store 2,01/01/1970,333-XYZ-999,2.49,Electronics 3,01/01/1970,987-CBA-321,306.21,Park 4,01/01/1970,123-ABC-789,1073.12,Gas",
		"2000: 5,01/01/1970,456-DEF-456,20.0,Books 6,01/01/1970,333-XYZ-999,7.92,Movies 7,01/01/1970,987-CBA-321,4322.33,Misc",
	}
	for i, w := range want {
		if batches[i] != w {
			t.Errorf("batch %d:\ngot  %s\nwant %s", i, batches[i], w)
		}
	}
	// The last step, 100, is sent at 50*101*102/2 = 257550 ms.
	if n, last := len(batches), batches[len(batches)-1]; n != 258 || last != "258000: 100,01/01/1970,123-ABC-789,1073.12,Gas" {
		t.Errorf("%d batches, the last %q", n, last)
	}
}

func TestGenerateRandomRepeats(t *testing.T) {
	cfg := GenerateConfig{Common: testCommon(nil), Random: true, Seed: 42, Count: 50, NoDelay: true, Start: 1_700_000_000_000}
	b1, s1 := runGenerate(t, cfg)
	b2, s2 := runGenerate(t, cfg)
	if s1 != s2 || strings.Join(b1, "\n") != strings.Join(b2, "\n") {
		t.Error("the same seed gave different runs")
	}
	lines := strings.Split(strings.TrimSuffix(s1, "\n"), "\n")
	if len(lines) != 50 {
		t.Fatalf("%d lines, want 50", len(lines))
	}
	for _, l := range lines {
		f := strings.Split(strings.TrimPrefix(l, "Sent -> "), ",")
		if len(f) != 5 || !strings.Contains(strings.Join(txAccounts, " "), f[2]) || !strings.Contains(f[3], ".") {
			t.Errorf("bad line %q", l)
		}
	}
	cfg.Seed = 43
	if _, s3 := runGenerate(t, cfg); s3 == s1 {
		t.Error("another seed gave the same run")
	}
}

// TestGenerateTimed checks the sleeping producer on a FakeClock: delays of
// 50 and 100 ms, lines batched by processing time, dates from the clock.
func TestGenerateTimed(t *testing.T) {
	clock := stage.NewFakeClock(time.Date(2024, 3, 9, 23, 59, 59, 900e6, time.UTC))
	var sent syncBuffer
	cfg := GenerateConfig{Common: testCommon(clock), Count: 2, Stderr: &sent}
	var c collect
	done := make(chan error, 1)
	go func() { done <- NewGenerate(cfg).Run(context.Background(), &c) }()
	for range 2 {
		waitFor(func() bool { return clock.Waiters() == 2 }) // batch timer and delay
		clock.Advance(50 * time.Millisecond)
	}
	waitFor(func() bool { return clock.Waiters() == 2 })
	clock.Advance(50 * time.Millisecond)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2024, 3, 10, 0, 0, 0, 0, time.UTC).UnixMilli()
	want := []string{
		itoas([]int64{t0}) + ": 0,03/09/2024,123-ABC-789,10.34,Drug Store",
		itoas([]int64{t0 + 1000}) + ": 1,03/10/2024,456-DEF-456,94.65,Grocery Store",
	}
	if got := strings.Join(c.batches(), "\n"); got != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", got, strings.Join(want, "\n"))
	}
	if got := sent.String(); got != "Sent -> 0,03/09/2024,123-ABC-789,10.34,Drug Store\nSent -> 1,03/10/2024,456-DEF-456,94.65,Grocery Store\n" {
		t.Errorf("sent %q", got)
	}
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
