package frame

import (
	"errors"
	"fmt"
)

// Errors wrapped in *Error.
var (
	// ErrTruncated means the stream ended inside a frame. Typically this
	// indicates a writer that died mid-frame or a truncated file.
	ErrTruncated = errors.New("stream ends inside a frame")
	// ErrMagic means the bytes at a frame boundary are not a frame header.
	// Typically this indicates text or another format where frames were
	// expected, or an earlier frame whose length was corrupted.
	ErrMagic = errors.New("not a dstream frame (bad magic)")
	// ErrVersion means the frame was written by an unknown format version.
	ErrVersion = errors.New("unsupported frame version")
	// ErrChecksum means the frame's CRC-32C does not match its contents.
	ErrChecksum = errors.New("frame checksum mismatch (corrupt frame)")
	// ErrTooLarge means the frame or its decoded batch exceeds the size limit.
	ErrTooLarge = errors.New("frame exceeds the size limit")
	// ErrCorrupt means the payload does not decode as its type says.
	ErrCorrupt = errors.New("malformed frame payload")
)

// Error is a read error: where in the stream it happened and why.
type Error struct {
	Offset int64 // byte offset of the start of the frame
	Frame  int64 // frame number, from 0
	Err    error
	Detail string // what exactly was wrong, when known
}

func (e *Error) Error() string {
	msg := e.Err.Error()
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	return fmt.Sprintf("%s (frame %d at byte offset %d)", msg, e.Frame, e.Offset)
}

func (e *Error) Unwrap() error { return e.Err }
