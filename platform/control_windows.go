package platform

import (
	"fmt"
	"net"
	"time"
)

// Listen is not implemented on Windows yet: the named pipe transport (go-winio) comes with the service issue.
func Listen(path string) (net.Listener, error) {
	return nil, fmt.Errorf("control pipe: %w", ErrUnsupported)
}

// Dial is not implemented on Windows yet.
func Dial(path string, timeout time.Duration) (net.Conn, error) {
	return nil, fmt.Errorf("control pipe: %w", ErrUnsupported)
}

// IsNotRunning reports whether a Dial error means no daemon is listening.
func IsNotRunning(err error) bool { return false }

// PeerUID is not implemented on Windows yet.
func PeerUID(c net.Conn) (int, error) { return -1, fmt.Errorf("peer credentials: %w", ErrUnsupported) }

// PeerPID is not implemented on Windows yet.
func PeerPID(c net.Conn) (int, error) { return -1, fmt.Errorf("peer pid: %w", ErrUnsupported) }
