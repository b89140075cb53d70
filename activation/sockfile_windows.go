package activation

import (
	"fmt"
	"net"
	"os"
	"syscall"
)

// socketFile is not available on Windows: sockets are not handed to workers there.
func socketFile(c syscall.Conn, name string) (*os.File, error) {
	return nil, fmt.Errorf("socket handoff: not supported on this OS yet")
}

// SetNonblock does nothing on Windows.
func SetNonblock(socks []*Socket, nonblock bool) error { return nil }

// Addr is not available on Windows.
func (s *Socket) Addr() (net.Addr, error) {
	return nil, fmt.Errorf("socket %s: not supported on this OS yet", s.Spec)
}
