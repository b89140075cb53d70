//go:build linux

package service

import (
	"os"

	"golang.org/x/sys/unix"
)

// redirectStdio points the daemon's stdout and stderr at f: after a rotation of gpm.log, what the Go runtime itself
// writes there (a fatal error's stacks) goes to the new file, not to the rotated one.
func redirectStdio(f *os.File) {
	for _, fd := range []int{1, 2} {
		unix.Dup3(int(f.Fd()), fd, 0) // Dup2 does not exist on every Linux architecture
	}
}
