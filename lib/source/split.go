package source

import (
	"bytes"
	"fmt"
)

// splitter cuts chunks into lines and counts them, per input, for messages
// that name FILE:LINE. A line is the bytes before "\n", without a "\r"
// before it; the last line of an input needs no "\n".
type splitter struct {
	max    int // longest line accepted, in bytes
	name   string
	lineNo int64
	data   []byte // unconsumed bytes of the current chunk
	end    bool   // the input ends after data
	carry  []byte // a line begun in earlier chunks
	// carried says the line last returned was put together in carry,
	// which the next line reuses; else it points into the chunk.
	carried bool
}

// feed starts on a new chunk; the previous one must be consumed.
func (s *splitter) feed(c chunk) {
	if c.first {
		s.name, s.lineNo, s.carry = c.name, 0, s.carry[:0]
	}
	s.data, s.end = c.data, c.end
}

// where names the line last returned.
func (s *splitter) where() string { return fmt.Sprintf("%s:%d", s.name, s.lineNo) }

// next returns the next line, or ok == false when the chunk is consumed.
// The line is valid until the next call.
func (s *splitter) next() (line []byte, ok bool, err error) {
	s.carried = len(s.carry) > 0
	if i := bytes.IndexByte(s.data, '\n'); i >= 0 {
		line, s.data = s.data[:i], s.data[i+1:]
		if len(s.carry) > 0 {
			s.carry = append(s.carry, line...)
			line, s.carry = s.carry, s.carry[:0]
		}
	} else if s.end && len(s.data)+len(s.carry) > 0 {
		line = append(s.carry, s.data...)
		s.carried = true
		s.data, s.carry = nil, line[:0]
	} else {
		s.carry = append(s.carry, s.data...)
		s.data = nil
		if len(s.carry) > s.max {
			return nil, false, s.tooLong()
		}
		return nil, false, nil
	}
	s.lineNo++
	if len(line) > s.max {
		s.lineNo--
		return nil, false, s.tooLong()
	}
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, true, nil
}

func (s *splitter) tooLong() error {
	return fmt.Errorf("%s:%d: line longer than the %d-byte frame size limit (raise it with --max-frame-size)", s.name, s.lineNo+1, s.max)
}
