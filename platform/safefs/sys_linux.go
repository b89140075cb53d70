package safefs

import "golang.org/x/sys/unix"

// oDir opens a directory of the walk: O_PATH needs no read permission on it (a daemon not running as root may
// pass through a 0711 home) and is enough for openat, mkdirat, readlinkat and fstat.
const oDir = unix.O_PATH

// kernelLinks reports whether the links in the directory fd are the kernel's own (procfs: /proc/self,
// /proc/PID/fd/N): they name no path a walk could follow (pipe:[123]), only the kernel can resolve them, and no
// user can plant them. /dev/stdout reaches them.
func kernelLinks(fd int) bool {
	var s unix.Statfs_t
	return unix.Fstatfs(fd, &s) == nil && s.Type == unix.PROC_SUPER_MAGIC
}
