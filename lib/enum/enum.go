// Package enum parses the names of small enumerations (a flag's choices),
// with errors that list the valid ones.
package enum

import (
	"fmt"
	"strings"
)

// Parse returns the position of name in names as a T; kind names the
// enumeration in the error.
func Parse[T ~int | ~uint8](kind string, names []string, name string) (T, error) {
	for i, n := range names {
		if name == n {
			return T(i), nil
		}
	}
	return 0, fmt.Errorf("unknown %s %q (want one of %s)", kind, name, strings.Join(names, ", "))
}
