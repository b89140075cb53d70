//go:build unix

package web

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/gpmd/gpm/platform/safefs"
)

// listenUnix binds the socket path. Its directory is walked to by safefs's rules (no link planted on the way is
// followed) and must belong to the daemon's user and be writable by it alone, so that nobody else can swap the
// socket or put one of theirs in its place; a socket left there by an earlier run is replaced, any other file is
// not. The socket is 0600: only the daemon's user (and root) can connect.
func listenUnix(path string) (net.Listener, error) {
	dir, name := filepath.Split(path)
	d, err := safefs.OpenDir(dir, -1)
	if err != nil {
		return nil, fmt.Errorf("web: unix socket %s: %w", path, err)
	}
	defer d.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(d.Fd()), &st); err != nil {
		return nil, fmt.Errorf("web: unix socket %s: %w", path, err)
	}
	if int(st.Uid) != os.Geteuid() || st.Mode&0o022 != 0 {
		return nil, fmt.Errorf("web: unix socket %s: %w: its directory must belong to the daemon's user (uid %d) and be writable by it alone (chmod go-w %s)",
			path, safefs.ErrUnsafe, os.Geteuid(), dir)
	}
	var fst unix.Stat_t
	switch err := unix.Fstatat(int(d.Fd()), name, &fst, unix.AT_SYMLINK_NOFOLLOW); {
	case err == nil && fst.Mode&unix.S_IFMT == unix.S_IFSOCK:
		if err := unix.Unlinkat(int(d.Fd()), name, 0); err != nil {
			return nil, fmt.Errorf("web: unix socket %s: remove the old socket: %w", path, err)
		}
	case err == nil:
		return nil, fmt.Errorf("web: unix socket %s: %w", path, fs.ErrExist)
	case !errors.Is(err, unix.ENOENT):
		return nil, fmt.Errorf("web: unix socket %s: %w", path, err)
	}
	// Bound, made 0600, and only then listening: until listen(2) nobody can connect, whatever the mode was. (Not
	// under a umask: the daemon's umask is shared with the apps it forks meanwhile.)
	fd, err := unixSocket()
	if err != nil {
		return nil, fmt.Errorf("web: unix socket %s: %w", path, err)
	}
	f := os.NewFile(uintptr(fd), path)
	defer f.Close() // net.FileListener holds its own descriptor
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		return nil, fmt.Errorf("web: unix socket %s: bind: %w", path, err)
	}
	if err := unix.Fchmodat(int(d.Fd()), name, 0o600, 0); err != nil {
		unix.Unlinkat(int(d.Fd()), name, 0)
		return nil, fmt.Errorf("web: unix socket %s: chmod: %w", path, err)
	}
	if err := unix.Listen(fd, unix.SOMAXCONN); err != nil {
		unix.Unlinkat(int(d.Fd()), name, 0)
		return nil, fmt.Errorf("web: unix socket %s: listen: %w", path, err)
	}
	ln, err := net.FileListener(f)
	if err != nil {
		unix.Unlinkat(int(d.Fd()), name, 0)
		return nil, fmt.Errorf("web: unix socket %s: %w", path, err)
	}
	// A listener made from a file does not remove its path on Close; this one should, as net.Listen's does.
	ln.(*net.UnixListener).SetUnlinkOnClose(true)
	return ln, nil
}
