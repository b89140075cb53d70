//go:build unix

package platform

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// Listen creates the control socket at path, mode 0600 in a directory of mode 0700. A stale socket left by a dead
// daemon is removed; a live one makes Listen fail, so two daemons never share a home.
func Listen(path string) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("control socket dir: %w", err)
	}
	if c, err := net.DialTimeout("unix", path, 200*time.Millisecond); err == nil {
		c.Close()
		return nil, fmt.Errorf("control socket %s: another daemon is listening", path)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("remove stale control socket: %w", err)
	}
	// The umask makes the socket 0600 from the moment it exists: a chmod afterwards leaves a window.
	old := syscall.Umask(0o177)
	ln, err := net.Listen("unix", path)
	syscall.Umask(old)
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	return ln, nil
}

// Address is what a client outside Go (the Node shim, given it in GPM_NOTIFY_STREAM) connects to for the
// listener that Listen(path) makes: the socket path itself.
func Address(path string) string { return path }

// Dial connects to the control socket at path.
func Dial(path string, timeout time.Duration) (net.Conn, error) {
	return net.DialTimeout("unix", path, timeout)
}

// IsNotRunning reports whether a Dial error means no daemon is listening (as opposed to, say, permission denied).
func IsNotRunning(err error) bool {
	return errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED)
}
