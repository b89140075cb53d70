//go:build !linux

package activation

import (
	"errors"
	"os"
)

// pathIn is the checked path itself: other systems have no /proc/self/fd to bind through a directory descriptor.
func pathIn(_ *os.File, _, path string) string { return path }

// openPrivateDir is nil: without /proc/self/fd a socket cannot be bound through a directory's descriptor, and
// BindUnixPrivate makes it in a temporary directory of its own.
func openPrivateDir(string) *os.File { return nil }

// bindInPrivateDir is never called where openPrivateDir is nil.
func bindInPrivateDir(*os.File, string, os.FileMode, func(string) error) error {
	return errors.New("bind through a directory descriptor: not on this system")
}
