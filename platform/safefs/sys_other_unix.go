//go:build unix && !linux

package safefs

import "golang.org/x/sys/unix"

// oDir opens a directory of the walk (no O_PATH outside Linux: it needs read permission).
const oDir = unix.O_RDONLY

// kernelLinks: only Linux's procfs is known to hold links that name no path.
func kernelLinks(fd int) bool { return false }
