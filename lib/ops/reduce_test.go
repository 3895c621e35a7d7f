package ops

import (
	"strings"
	"testing"
)

func TestReduce(t *testing.T) {
	in := batchesOf(
		batch(1000, []string{"1", "2"}, []string{"k\t3", "4"}),
		batch(2000),
		more(batch(3000, []string{"0.1"})), batch(3000, []string{"0.2"}),
	)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"sum"}, "1000: 10\n2000: \n3000: 0.3"},
		{[]string{"count"}, "1000: 4\n2000: \n3000: 2"},
		{[]string{"min"}, "1000: 1\n2000: \n3000: 0.1"},
		{[]string{"--sep", "+", "concat"}, "1000: 1+2+3+4\n2000: \n3000: 0.1+0.2"},
		{[]string{"last"}, "1000: 4\n2000: \n3000: 0.2"},
		{[]string{"--expr", "a + b"}, "1000: 10\n2000: \n3000: 0.3"},
		{[]string{"--expr", "a * b"}, "1000: 24\n2000: \n3000: 0.02"},
	}
	for _, tt := range tests {
		got, err := run(t, Reduce, tt.args, in...)
		if err != nil || got != tt.want {
			t.Errorf("reduce %v:\ngot  %q, %v\nwant %q", tt.args, got, err, tt.want)
		}
	}
	_, err := run(t, Reduce, []string{"sum"}, batch(5000, []string{"1", "1,5"}))
	if want := `batch 5000: record 1: "1,5" is not a decimal number (sum wants numbers like 12, -3.25 or 1e3)`; err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
	if _, err := run(t, Reduce, []string{"--expr", "a / b"}, batch(5000, []string{"1", "0.0"})); err == nil || !strings.Contains(err.Error(), "+Inf") {
		t.Errorf("division by zero: got %v", err)
	}
}
