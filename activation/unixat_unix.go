//go:build unix

package activation

import (
	"os"

	"golang.org/x/sys/unix"
)

// unlinkIn removes name in dir (a socket file left by an earlier run, or the one being closed).
func unlinkIn(dir *os.File, name string) error {
	if err := unix.Unlinkat(int(dir.Fd()), name, 0); err != nil {
		return &os.PathError{Op: "unlinkat", Path: name, Err: err}
	}
	return nil
}
