// Package text turns records into the text forms of DESIGN.md's "Values
// and text": KEY<TAB>VALUE lines, CSV rows and JSON, where an element that is
// valid JSON (a number, array, object, true, false, null) is embedded as is
// and anything else becomes a JSON string.
package text

import (
	"encoding/json"
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
// null, with nothing around it.
func IsJSON(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	switch c := b[0]; {
	case c == '-' || (c >= '0' && c <= '9'), c == '[', c == '{', c == 't', c == 'f', c == 'n':
	default:
		return false
	}
	switch b[len(b)-1] {
	case ' ', '\t', '\r', '\n':
		return false
	}
	return json.Valid(b)
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
