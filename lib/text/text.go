// Package text turns records into the text forms of DESIGN.md's "Values
// and text": KEY<TAB>VALUE lines, CSV rows and JSON, where an element that is
// valid JSON (a number, array, object, true, false, null) is embedded as is
// and anything else becomes a JSON string.
package text

import (
	"strconv"
	"unicode/utf8"

	"dstream/lib/frame"
)

// AppendTSV appends r as one line: VALUE, or KEY<TAB>VALUE when keyed,
// preceded by the batch time in ms and a TAB when withTime is set.
func AppendTSV(dst []byte, r *frame.Record, withTime bool, t int64) []byte {
	if withTime {
		dst = strconv.AppendInt(dst, t, 10)
		dst = append(dst, '\t')
	}
	if r.Keyed {
		dst = append(dst, r.Key...)
		dst = append(dst, '\t')
	}
	dst = append(dst, r.Value...)
	return append(dst, '\n')
}

// AppendJSONLine appends r as {"time":T,"key":K,"value":V} and a newline;
// an unkeyed record has "key":null.
func AppendJSONLine(dst []byte, r *frame.Record, t int64) []byte {
	dst = append(dst, `{"time":`...)
	dst = strconv.AppendInt(dst, t, 10)
	dst = append(dst, `,"key":`...)
	if r.Keyed {
		dst = AppendJSON(dst, r.Key)
	} else {
		dst = append(dst, "null"...)
	}
	dst = append(dst, `,"value":`...)
	dst = AppendJSON(dst, r.Value)
	return append(dst, "}\n"...)
}

// IsJSON tells whether b is a JSON number, array, object, true, false or
// null, with nothing around it. Strings inside arrays and objects must be
// valid UTF-8, so what is embedded as is keeps the output valid JSON. It
// agrees with encoding/json's Valid otherwise, and does not allocate.
func IsJSON(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	switch c := b[0]; {
	case c == '-' || (c >= '0' && c <= '9'), c == '[', c == '{', c == 't', c == 'f', c == 'n':
	default:
		return false
	}
	v := validator{b: b}
	return v.value(0) && v.i == len(b)
}

// maxDepth is encoding/json's limit on nesting.
const maxDepth = 10000

// validator checks JSON (RFC 8259) by recursive descent.
type validator struct {
	b []byte
	i int
}

func (v *validator) ws() {
	for v.i < len(v.b) {
		switch v.b[v.i] {
		case ' ', '\t', '\n', '\r':
			v.i++
		default:
			return
		}
	}
}

func (v *validator) lit(s string) bool {
	if len(v.b)-v.i < len(s) || string(v.b[v.i:v.i+len(s)]) != s {
		return false
	}
	v.i += len(s)
	return true
}

func (v *validator) value(depth int) bool {
	if v.i >= len(v.b) {
		return false
	}
	switch c := v.b[v.i]; {
	case c == '{':
		if depth++; depth > maxDepth {
			return false
		}
		v.i++
		v.ws()
		if v.i < len(v.b) && v.b[v.i] == '}' {
			v.i++
			return true
		}
		for {
			if !v.str() {
				return false
			}
			v.ws()
			if v.i >= len(v.b) || v.b[v.i] != ':' {
				return false
			}
			v.i++
			v.ws()
			if !v.value(depth) {
				return false
			}
			v.ws()
			if v.i >= len(v.b) {
				return false
			}
			switch v.b[v.i] {
			case ',':
				v.i++
				v.ws()
			case '}':
				v.i++
				return true
			default:
				return false
			}
		}
	case c == '[':
		if depth++; depth > maxDepth {
			return false
		}
		v.i++
		v.ws()
		if v.i < len(v.b) && v.b[v.i] == ']' {
			v.i++
			return true
		}
		for {
			if !v.value(depth) {
				return false
			}
			v.ws()
			if v.i >= len(v.b) {
				return false
			}
			switch v.b[v.i] {
			case ',':
				v.i++
				v.ws()
			case ']':
				v.i++
				return true
			default:
				return false
			}
		}
	case c == '"':
		return v.str()
	case c == 't':
		return v.lit("true")
	case c == 'f':
		return v.lit("false")
	case c == 'n':
		return v.lit("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return v.num()
	}
	return false
}

func (v *validator) digits() bool {
	start := v.i
	for v.i < len(v.b) && v.b[v.i] >= '0' && v.b[v.i] <= '9' {
		v.i++
	}
	return v.i > start
}

func (v *validator) num() bool {
	if v.b[v.i] == '-' {
		v.i++
	}
	if v.i < len(v.b) && v.b[v.i] == '0' {
		v.i++
	} else if !v.digits() {
		return false
	}
	if v.i < len(v.b) && v.b[v.i] == '.' {
		v.i++
		if !v.digits() {
			return false
		}
	}
	if v.i < len(v.b) && (v.b[v.i] == 'e' || v.b[v.i] == 'E') {
		v.i++
		if v.i < len(v.b) && (v.b[v.i] == '+' || v.b[v.i] == '-') {
			v.i++
		}
		if !v.digits() {
			return false
		}
	}
	return true
}

func (v *validator) str() bool {
	if v.i >= len(v.b) || v.b[v.i] != '"' {
		return false
	}
	v.i++
	for v.i < len(v.b) {
		c := v.b[v.i]
		switch {
		case c == '"':
			v.i++
			return true
		case c == '\\':
			v.i++
			if v.i >= len(v.b) {
				return false
			}
			switch v.b[v.i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				v.i++
			case 'u':
				v.i++
				for range 4 {
					if v.i >= len(v.b) || !isHex(v.b[v.i]) {
						return false
					}
					v.i++
				}
			default:
				return false
			}
		case c < 0x20:
			return false
		case c < utf8.RuneSelf:
			v.i++
		default:
			r, size := utf8.DecodeRune(v.b[v.i:])
			if r == utf8.RuneError && size == 1 {
				return false
			}
			v.i += size
		}
	}
	return false
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// AppendJSON appends b as is when IsJSON(b), else as a JSON string.
func AppendJSON(dst, b []byte) []byte {
	if IsJSON(b) {
		return append(dst, b...)
	}
	return AppendJSONString(dst, b)
}

const hex = "0123456789abcdef"

// AppendJSONString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD,
// as encoding/json does.
func AppendJSONString(dst, s []byte) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
