package source

import (
	"fmt"
	"time"
)

// TimeLayout is how an event-time field is written: epoch milliseconds
// ("ms", the default), epoch seconds ("s", a fraction allowed) or a Go time
// layout (parsed in UTC unless the layout has a zone).
type TimeLayout struct {
	layout string // "ms", "s" or a Go layout
}

// ParseTimeLayout parses --time-layout.
func ParseTimeLayout(s string) (TimeLayout, error) {
	if s == "" {
		return TimeLayout{}, fmt.Errorf("empty time layout (want ms, s or a Go layout like 2006-01-02T15:04:05Z07:00)")
	}
	return TimeLayout{layout: s}, nil
}

func (l TimeLayout) String() string {
	switch l.layout {
	case "", "ms":
		return "epoch milliseconds"
	case "s":
		return "epoch seconds"
	}
	return "layout " + l.layout
}

// Parse returns the time in b as ms since the epoch.
func (l TimeLayout) Parse(b []byte) (int64, bool) {
	switch l.layout {
	case "", "ms":
		return parseInt(b)
	case "s":
		return parseSeconds(b)
	}
	t, err := time.Parse(l.layout, string(b))
	if err != nil {
		return 0, false
	}
	return t.UnixMilli(), true
}

// parseInt parses an optionally signed decimal integer without allocating.
func parseInt(b []byte) (int64, bool) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}

// parseSeconds parses seconds with an optional fraction, truncated to ms.
func parseSeconds(b []byte) (int64, bool) {
	whole, frac := b, []byte(nil)
	for i, c := range b {
		if c == '.' {
			whole, frac = b[:i], b[i+1:]
			break
		}
	}
	s, ok := parseInt(whole)
	if !ok || len(whole) > 13 { // keep s*1000 far from overflow
		return 0, false
	}
	var ms int64
	for i, c := range frac {
		if c < '0' || c > '9' {
			return 0, false
		}
		if i < 3 {
			ms = ms*10 + int64(c-'0')
		}
	}
	for i := len(frac); i < 3; i++ {
		ms *= 10
	}
	if len(whole) > 0 && whole[0] == '-' {
		return s*1000 - ms, true
	}
	return s*1000 + ms, true
}
