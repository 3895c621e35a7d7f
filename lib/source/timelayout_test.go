package source

import "testing"

func TestTimeLayout(t *testing.T) {
	tests := []struct {
		layout, in string
		want       int64
		ok         bool
	}{
		{"ms", "1500", 1500, true},
		{"ms", "-20", -20, true},
		{"ms", "", 0, false},
		{"ms", "1.5", 0, false},
		{"ms", "12a", 0, false},
		{"s", "2", 2000, true},
		{"s", "1.5", 1500, true},
		{"s", "1.2345", 1234, true},
		{"s", "-1.5", -1500, true},
		{"s", "x", 0, false},
		{"s", "1.x", 0, false},
		{"2006-01-02T15:04:05Z07:00", "1970-01-01T00:00:01Z", 1000, true},
		{"2006-01-02T15:04:05Z07:00", "1970-01-01T01:00:01+01:00", 1000, true},
		{"2006-01-02 15:04:05.000", "1970-01-01 00:00:02.250", 2250, true},
		{"2006-01-02", "01/02/1970", 0, false},
	}
	for _, tt := range tests {
		l, err := ParseTimeLayout(tt.layout)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := l.Parse([]byte(tt.in))
		if got != tt.want || ok != tt.ok {
			t.Errorf("%s %q: got %d %v, want %d %v", tt.layout, tt.in, got, ok, tt.want, tt.ok)
		}
	}
	if _, err := ParseTimeLayout(""); err == nil {
		t.Error("empty layout accepted")
	}
}

func TestBatchOf(t *testing.T) {
	for _, tt := range []struct{ ts, d, want int64 }{
		{0, 1000, 1000}, {999, 1000, 1000}, {1000, 1000, 2000}, {-1, 1000, 0}, {-1000, 1000, 0}, {-1001, 1000, -1000},
	} {
		if got := batchOf(tt.ts, tt.d); got != tt.want {
			t.Errorf("batchOf(%d, %d) = %d, want %d", tt.ts, tt.d, got, tt.want)
		}
	}
}
