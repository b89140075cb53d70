package activation

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// pathIn is where to bind name in dir: /proc/self/fd/N/NAME, which the kernel resolves through the open directory
// itself, not through the path it was opened by.
func pathIn(dir *os.File, name, _ string) string {
	return fmt.Sprintf("/proc/self/fd/%d/%s", dir.Fd(), name)
}

// openPrivateDir opens path, a directory, when it is private: owned by this process's euid and without any
// permission for group or others (POSIX ACL entries then have a mask of nothing and grant nothing either), so
// that nobody else but root can reach a name in it. nil otherwise, or when /proc/self/fd, which binding through
// the descriptor needs, is not there.
func openPrivateDir(path string) *os.File {
	fd, err := unix.Open(path, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil || int(st.Uid) != os.Geteuid() || st.Mode&0o077 != 0 {
		unix.Close(fd)
		return nil
	}
	dir := os.NewFile(uintptr(fd), path)
	if err := unix.Access(pathIn(dir, "", path), unix.F_OK); err != nil {
		dir.Close()
		return nil
	}
	return dir
}

// bindInPrivateDir is BindUnixPrivate in dir, checked private by openPrivateDir: the socket is bound at a name of
// its own in dir (".NAME.b", one per path: a socket is bound once at a time under the lock of its GPM_HOME; one
// that a crash left is removed first), chmodded and renamed onto path's name, each through dir's descriptor, so
// that a directory on the way swapped meanwhile cannot move where it is made.
func bindInPrivateDir(dir *os.File, path string, mode os.FileMode, bind func(tmp string) error) error {
	name := filepath.Base(path)
	tmpName := "." + name + ".b"
	fd := int(dir.Fd())
	if err := unix.Unlinkat(fd, tmpName, 0); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("bind %s: remove a leftover %s: %w", path, tmpName, err)
	}
	if err := bind(pathIn(dir, tmpName, path)); err != nil {
		return err
	}
	if err := unix.Fchmodat(fd, tmpName, uint32(mode.Perm()), 0); err != nil {
		unix.Unlinkat(fd, tmpName, 0)
		return fmt.Errorf("bind %s: chmod: %w", path, err)
	}
	if err := unix.Renameat(fd, tmpName, fd, name); err != nil {
		unix.Unlinkat(fd, tmpName, 0)
		return fmt.Errorf("bind %s: rename: %w", path, err)
	}
	return nil
}
