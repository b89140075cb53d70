//go:build unix

package platform

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/gpmd/gpm/activation"
)

// Listen creates the control socket at path, mode 0600 in a directory of mode 0700. A stale socket left by a dead
// daemon is removed; a live one makes Listen fail, so two daemons never share a home.
func Listen(path string) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("control socket dir: %w", err)
	}
	// Nothing there (a new home, or a daemon that ended cleanly): no daemon to ask, nothing stale to remove.
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		if c, err := net.DialTimeout("unix", path, 200*time.Millisecond); err == nil {
			c.Close()
			return nil, fmt.Errorf("control socket %s: another daemon is listening", path)
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("remove stale control socket: %w", err)
		}
	}
	// 0600 from the moment anyone else can reach it (a chmod after a plain bind leaves a window), without the
	// process-wide umask.
	var ln *net.UnixListener
	err := activation.BindUnixPrivate(path, 0o600, func(tmp string) (err error) {
		ln, err = net.ListenUnix("unix", &net.UnixAddr{Name: tmp, Net: "unix"})
		return err
	})
	if err != nil {
		if ln != nil {
			ln.Close()
		}
		return nil, fmt.Errorf("control socket: %w", err)
	}
	ln.SetUnlinkOnClose(false) // its own name is gone: unixListener.Close removes path
	return &unixListener{UnixListener: ln, path: path}, nil
}

// unixListener is a listener bound under a temporary name and renamed to path: its address is path, and Close
// removes path, as net's listeners remove what they bound.
type unixListener struct {
	*net.UnixListener
	path   string
	unlink sync.Once // a second Close must not remove the socket of a daemon that started since
}

func (l *unixListener) Addr() net.Addr { return &net.UnixAddr{Name: l.path, Net: "unix"} }

func (l *unixListener) Close() error {
	err := l.UnixListener.Close()
	l.unlink.Do(func() { os.Remove(l.path) })
	return err
}

// Address is what a client outside Go (the Node shim, given it in GPM_NOTIFY_STREAM) connects to for the
// listener that Listen(path) makes: the socket path itself.
func Address(path string) string { return path }

// Dial connects to the control socket at path. A path that does not exist is ENOENT without a socket made: the
// first socket of a process starts its network poller (an epoll instance, a thread's worth of set-up), which a CLI
// call that finds no daemon (gpm --version, the call that starts one) need not pay for.
func Dial(path string, timeout time.Duration) (net.Conn, error) {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, &net.OpError{Op: "dial", Net: "unix", Addr: &net.UnixAddr{Name: path, Net: "unix"}, Err: err}
	}
	return net.DialTimeout("unix", path, timeout)
}

// IsNotRunning reports whether a Dial error means no daemon is listening (as opposed to, say, permission denied).
func IsNotRunning(err error) bool {
	return errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED)
}
