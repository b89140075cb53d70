//go:build unix

package activation

import (
	"fmt"
	"os"
	"path/filepath"
)

// BindUnixPrivate creates a unix socket at path that has mode from the moment anyone else can reach it, without
// touching the process umask: bind(tmp) must bind the socket at tmp; BindUnixPrivate then chmods it and renames it
// onto path (replacing what is there). Until the rename, tmp is where nobody else can reach it, and the path only
// appears once bind (and listen, which bind does too) is done, so a client never finds it refusing connections.
//
// Where tmp is: when path's directory is private (owned by this user, no access for group or others: a GPM_HOME,
// which is 0700), a name in that very directory, reached through the open directory (/proc/self/fd/N/NAME, Linux):
// the directory is what keeps others out, as the temporary directory below does, at two syscalls less a socket.
// Otherwise (or without /proc), a path inside a new 0700 directory beside path, removed afterwards. tmp is shorter
// than path whenever path's base name is longer than 13 bytes, so it fits where path fits (sun_path is 108 bytes).
//
// The umask is process-wide: setting it around a bind (as this code did) made every file that another goroutine
// created meanwhile (log files, pid files, the dump) 0600 or worse. fchmod(2) on a socket does not change the
// mode of the path it is bound to, so the socket is made where nobody else can reach it instead. On error the
// caller closes what bind made.
func BindUnixPrivate(path string, mode os.FileMode, bind func(tmp string) error) error {
	if dir := openPrivateDir(filepath.Dir(path)); dir != nil {
		defer dir.Close()
		return bindInPrivateDir(dir, path, mode, bind)
	}
	dir, err := os.MkdirTemp(filepath.Dir(path), ".b")
	if err != nil {
		return fmt.Errorf("bind %s: %w", path, err)
	}
	defer os.RemoveAll(dir)
	tmp := filepath.Join(dir, "s")
	if err := bind(tmp); err != nil {
		return err
	}
	if err := os.Chmod(tmp, mode); err != nil {
		return fmt.Errorf("bind %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("bind %s: %w", path, err)
	}
	return nil
}
