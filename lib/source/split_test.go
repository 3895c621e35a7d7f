package source

import (
	"slices"
	"strings"
	"testing"
)

// splitAll feeds the chunks of one input and returns its lines.
func splitAll(t *testing.T, max int, chunks ...string) ([]string, error) {
	t.Helper()
	s := splitter{max: max}
	var lines []string
	for i, c := range chunks {
		s.feed(chunk{name: "in", data: []byte(c), first: i == 0, end: i == len(chunks)-1})
		for {
			line, ok, err := s.next()
			if err != nil {
				return lines, err
			}
			if !ok {
				break
			}
			lines = append(lines, string(line)+"@"+s.where())
		}
	}
	return lines, nil
}

func TestSplitter(t *testing.T) {
	tests := []struct {
		name   string
		chunks []string
		want   []string
	}{
		{"one chunk", []string{"a\nb\n"}, []string{"a@in:1", "b@in:2"}},
		{"no final newline", []string{"a\nb"}, []string{"a@in:1", "b@in:2"}},
		{"crlf", []string{"a\r\nb\r\n"}, []string{"a@in:1", "b@in:2"}},
		{"lone cr kept inside", []string{"a\rb\n"}, []string{"a\rb@in:1"}},
		{"empty lines", []string{"\n\nx\n"}, []string{"@in:1", "@in:2", "x@in:3"}},
		{"line across chunks", []string{"ab", "cd\ne", "f", ""}, []string{"abcd@in:1", "ef@in:2"}},
		{"crlf across chunks", []string{"ab\r", "\ncd"}, []string{"ab@in:1", "cd@in:2"}},
		{"empty input", []string{""}, nil},
		{"empty end chunk", []string{"a\n", ""}, []string{"a@in:1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := splitAll(t, 100, tt.chunks...)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSplitterNewInputRestartsCount(t *testing.T) {
	s := splitter{max: 100}
	s.feed(chunk{name: "a", data: []byte("x\ny"), first: true})
	s.next()
	s.feed(chunk{name: "a", end: true})
	s.next()
	s.feed(chunk{name: "b", data: []byte("z\n"), first: true, end: true})
	line, _, _ := s.next()
	if string(line) != "z" || s.where() != "b:1" {
		t.Errorf("got %q at %s, want z at b:1", line, s.where())
	}
}

func TestSplitterTooLong(t *testing.T) {
	for _, chunks := range [][]string{{"ok\n0123456789\n"}, {"ok\n01234", "56789\n"}, {"ok\n0123456789"}} {
		_, err := splitAll(t, 8, chunks...)
		if err == nil || !strings.Contains(err.Error(), "in:2: line longer than the 8-byte frame size limit") {
			t.Errorf("%q: got %v, want a too-long error at in:2", chunks, err)
		}
	}
}
