package stage

import (
	"errors"
	"fmt"
)

// UsageError is a mistake in how the stage was called: exit status 2.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// Usagef returns a UsageError.
func Usagef(format string, args ...any) error {
	return &UsageError{Err: fmt.Errorf(format, args...)}
}

// Exit statuses.
const (
	ExitOK      = 0
	ExitRuntime = 1
	ExitUsage   = 2
)

func exitCode(err error) int {
	var u *UsageError
	if errors.As(err, &u) {
		return ExitUsage
	}
	return ExitRuntime
}
