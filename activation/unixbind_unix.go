//go:build unix

package activation

import (
	"fmt"
	"os"
	"path/filepath"
)

// BindUnixPrivate creates a unix socket at path that has mode from the moment anyone else can reach it, without
// touching the process umask: bind(tmp) must bind the socket at tmp, a path inside a new 0700 directory beside
// path; BindUnixPrivate then chmods it and renames it onto path (replacing what is there), and removes the
// directory. On error the caller closes what bind made.
//
// The umask is process-wide: setting it around a bind (as this code did) made every file that another goroutine
// created meanwhile (log files, pid files, the dump) 0600 or worse. fchmod(2) on a socket does not change the
// mode of the path it is bound to, so the socket is made where nobody else can reach it instead. tmp is shorter
// than path whenever path's base name is longer than 13 bytes, so it fits where path fits (sun_path is 108
// bytes).
func BindUnixPrivate(path string, mode os.FileMode, bind func(tmp string) error) error {
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
