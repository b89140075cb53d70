package platform

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/Microsoft/go-winio"
	"golang.org/x/sys/windows"
)

// pipePrefix is the namespace of local named pipes.
const pipePrefix = `\\.\pipe\`

// pipeName maps the unix socket path the callers use (GPM_HOME\gpm.sock) to a named pipe: pipes live in their own
// flat namespace, not in the file system. The name is a hash of the path, so the daemon and its clients agree on
// it without talking; Windows paths are case-insensitive, so the hash is of the lower-cased path. A path that
// already names a pipe (GPM_SOCKET=\\.\pipe\x) is used as it is.
func pipeName(path string) string {
	if strings.HasPrefix(strings.ToLower(path), pipePrefix) {
		return path
	}
	sum := sha256.Sum256([]byte(strings.ToLower(filepath.Clean(path))))
	return pipePrefix + "gpm-" + hex.EncodeToString(sum[:16])
}

// Address is what a client outside Go (the Node shim, given it in GPM_NOTIFY_STREAM) connects to for the
// listener that Listen(path) makes: the named pipe derived from path (see pipeName).
func Address(path string) string { return pipeName(path) }

// pipeSDDL is the security descriptor of the control pipe: a protected DACL (nothing inherited) granting full
// access to Administrators and LocalSystem, and, when the daemon runs as a plain user, to that user. Nobody else
// can open the pipe, so the DACL is the access check that the unix socket's mode and peer uid are elsewhere.
// An elevated daemon (or one running as SYSTEM, the service) admits only Administrators and SYSTEM; a non-elevated
// admin's filtered token has Administrators as deny-only and is refused, as sudo-less root sockets are.
func pipeSDDL() (string, error) {
	const base = "D:P(A;;GA;;;BA)(A;;GA;;;SY)"
	tok := windows.GetCurrentProcessToken()
	if tok.IsElevated() {
		return base, nil
	}
	u, err := tok.GetTokenUser()
	if err != nil {
		return "", fmt.Errorf("current user: %w", err)
	}
	if u.User.Sid.IsWellKnown(windows.WinLocalSystemSid) {
		return base, nil
	}
	return base + "(A;;GA;;;" + u.User.Sid.String() + ")", nil
}

// Listen creates the control pipe for path (see pipeName), readable and writable only by the daemon's own user,
// Administrators and SYSTEM (see pipeSDDL), and refusing remote clients. A pipe disappears with the last handle
// to it, so there is never a stale one to remove; a live one (another daemon, or anyone squatting the name) makes
// Listen fail, so two daemons never share a home and nobody can serve clients in the daemon's place.
func Listen(path string) (net.Listener, error) {
	name := pipeName(path)
	if c, err := winio.DialPipe(name, ptr(200*time.Millisecond)); err == nil {
		c.Close()
		return nil, fmt.Errorf("control pipe %s (for %s): another daemon is listening", name, path)
	}
	sddl, err := pipeSDDL()
	if err != nil {
		return nil, fmt.Errorf("control pipe: %w", err)
	}
	ln, err := winio.ListenPipe(name, &winio.PipeConfig{SecurityDescriptor: sddl})
	if err != nil {
		return nil, fmt.Errorf("control pipe %s (for %s): %w", name, path, err)
	}
	return ln, nil
}

// Dial connects to the control pipe for path, waiting up to timeout while every instance of it is busy.
func Dial(path string, timeout time.Duration) (net.Conn, error) {
	c, err := winio.DialPipe(pipeName(path), &timeout)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", path, err)
	}
	return c, nil
}

// IsNotRunning reports whether a Dial error means no daemon is listening: the pipe does not exist (as opposed to,
// say, access denied by its DACL, or a daemon too busy to accept within the timeout).
func IsNotRunning(err error) bool {
	return errors.Is(err, os.ErrNotExist)
}

// PeerUID returns 0 for every client of a pipe made by Listen. Windows has no uids, and the pipe's DACL already
// admitted the client as the daemon's own user, an Administrator or SYSTEM (see pipeSDDL): 0 says "trusted" to a
// caller that compares it with root and its own uid. It fails only for a connection that is not a named pipe.
func PeerUID(c net.Conn) (int, error) {
	if _, err := pipeHandle(c); err != nil {
		return -1, fmt.Errorf("peer credentials: %w", err)
	}
	return 0, nil
}

// PeerPID returns the pid of the process at the other end of a named pipe connection
// (GetNamedPipeClientProcessId).
func PeerPID(c net.Conn) (int, error) {
	h, err := pipeHandle(c)
	if err != nil {
		return -1, fmt.Errorf("peer pid: %w", err)
	}
	var pid uint32
	if err := windows.GetNamedPipeClientProcessId(h, &pid); err != nil {
		return -1, fmt.Errorf("peer pid: GetNamedPipeClientProcessId: %w", err)
	}
	return int(pid), nil
}

// pipeHandle is the handle under a go-winio pipe connection (its unexported type has Fd).
func pipeHandle(c net.Conn) (windows.Handle, error) {
	f, ok := c.(interface{ Fd() uintptr })
	if !ok || !strings.HasPrefix(strings.ToLower(c.LocalAddr().String()), pipePrefix) {
		return 0, errors.New("not a named pipe connection")
	}
	return windows.Handle(f.Fd()), nil
}

func ptr[T any](v T) *T { return &v }
