package source

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"dstream/lib/frame"
)

// writeFrames writes batches (time, interval, partitions of values) to a
// frame file, with a BARRIER and an EOS as a captured stream has.
func writeFrames(t *testing.T, path string, batches ...frame.Batch) {
	t.Helper()
	var buf bytes.Buffer
	w := frame.NewWriter(&buf, frame.CodecNone, 0)
	for i := range batches {
		w.WriteBatch(&batches[i])
		w.WriteBarrier(frame.Barrier{ID: 1, Time: batches[i].Time})
	}
	w.WriteEOS()
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func batch(t, interval int64, parts ...[]string) frame.Batch {
	b := frame.Batch{Time: t, Interval: interval}
	for _, p := range parts {
		var recs []frame.Record
		for _, v := range p {
			recs = append(recs, frame.Record{Value: []byte(v)})
		}
		b.Partitions = append(b.Partitions, frame.Partition{Records: recs})
	}
	return b
}

func TestFrames(t *testing.T) {
	dir := t.TempDir()
	p := func(name string) string { return filepath.Join(dir, name) }
	writeFrames(t, p("out-10000"), batch(10000, 1000, []string{"c"}))
	writeFrames(t, p("out-1000"), batch(1000, 1000, []string{"a"}, []string{"b"}), batch(2000, 1000))
	writeFrames(t, p("empty"))
	files := []string{p("out-1000"), p("out-10000"), p("empty")} // glob order
	run := func(cfg FramesConfig) (string, error) {
		if cfg.Interval < 0 {
			cfg.Interval = 0 // the files' own
		}
		var c collect
		err := NewFrames(cfg).Run(context.Background(), &c)
		return strings.Join(c.batches(), "\n"), err
	}

	got, err := run(FramesConfig{Common: framesCommon(-1), Files: files})
	if want := "1000: a | b\n2000:\n10000: c"; err != nil || got != want {
		t.Errorf("replay: got %v\n%s\nwant\n%s", err, got, want)
	}
	c := framesCommon(-1)
	c.Partitions = 3
	got, err = run(FramesConfig{Common: c, Files: files, Repartition: true})
	if want := "1000: | a | b\n2000: | |\n10000: | | c"; err != nil || got != want {
		t.Errorf("repartition: got %v\n%s\nwant\n%s", err, got, want)
	}
	data, _ := os.ReadFile(p("out-1000"))
	got, err = run(FramesConfig{Common: framesCommon(-1), Stdin: bytes.NewReader(data)})
	if want := "1000: a | b\n2000:"; err != nil || got != want {
		t.Errorf("stdin: got %v\n%s\nwant\n%s", err, got, want)
	}

	writeFrames(t, p("half"), batch(1500, 500))
	writeFrames(t, p("again"), batch(2000, 1000))
	writeFrames(t, p("torn"), batch(3000, 1000))
	os.Truncate(p("torn"), 20)
	for _, tt := range []struct {
		cfg  FramesConfig
		want string
	}{
		{FramesConfig{Files: []string{p("out-1000"), p("half")}}, p("half") + ": batch 1500 has an interval of 500 ms, but the batches before it (" + p("out-1000") + ") have 1000 ms"},
		{FramesConfig{Files: []string{p("out-1000"), p("again")}}, p("again") + ": batch time 2000 is not after the previous batch 2000 (" + p("out-1000") + "): batch times must strictly increase"},
		{FramesConfig{Files: []string{p("out-1000")}, Common: framesCommon(500)}, p("out-1000") + ": batch 1000 has an interval of 1000 ms, but --batch says 500 ms"},
		{FramesConfig{Files: []string{p("torn")}}, p("torn") + ": stream ends inside a frame"},
		{FramesConfig{Files: []string{p("missing")}}, "open " + p("missing") + ": no such file or directory"},
	} {
		if tt.cfg.Clock == nil {
			tt.cfg.Common = framesCommon(-1)
		}
		if _, err := run(tt.cfg); err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("got %v\nwant %s", err, tt.want)
		}
	}
}

func framesCommon(interval int64) Common {
	c := testCommon(nil)
	c.Interval = interval
	return c
}
