//go:build unix && !linux && !darwin

package platform

import (
	"fmt"
	"net"
)

// PeerUID is not implemented on this OS: the socket's 0600 mode is the only guard.
func PeerUID(c net.Conn) (int, error) {
	return -1, fmt.Errorf("peer credentials: %w", ErrUnsupported)
}

// PeerPID is not implemented on this OS.
func PeerPID(c net.Conn) (int, error) { return -1, fmt.Errorf("peer pid: %w", ErrUnsupported) }
