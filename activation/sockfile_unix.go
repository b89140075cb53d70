//go:build unix

package activation

import (
	"fmt"
	"net"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// socketFile returns a descriptor of c's socket as a file that Go's poller does not hold, in blocking mode.
//
// Blocking is the mode a worker gets unless its app asks otherwise (systemd's NonBlocking= defaults to false): a
// worker that wraps fd 3 as a plain blocking socket (Python's socket.socket(fileno=3).accept()) otherwise fails
// with EAGAIN. It also keeps the supervisor's copy off the poller: os.NewFile registers a non-blocking descriptor
// there, and the runtime then switches the file description every worker shares back to blocking whenever
// something calls Fd() on it. (net's File() hands out such a non-blocking, polled copy.)
func socketFile(c syscall.Conn, name string) (*os.File, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return nil, err
	}
	fd, derr := -1, error(nil)
	if err := rc.Control(func(u uintptr) { fd, derr = unix.FcntlInt(u, unix.F_DUPFD_CLOEXEC, 0) }); err != nil {
		return nil, err
	}
	if derr != nil {
		return nil, fmt.Errorf("dup: %w", derr)
	}
	if err := unix.SetNonblock(fd, false); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("clear O_NONBLOCK: %w", err)
	}
	return os.NewFile(uintptr(fd), name), nil
}

// SetNonblock sets or clears O_NONBLOCK on the sockets. The flag belongs to the open file description, which the
// supervisor and every worker given the socket share: it changes the mode for all of them. Call it before a worker
// gets the sockets, when no other worker holds them (systemd's NonBlocking= applied at spawn).
func SetNonblock(socks []*Socket, nonblock bool) error {
	for _, s := range socks {
		rc, err := s.File.SyscallConn()
		if err != nil {
			return fmt.Errorf("socket %s: %w", s.Spec, err)
		}
		var serr error
		// Control, not Fd(): Fd() may itself change the mode.
		if err := rc.Control(func(u uintptr) { serr = unix.SetNonblock(int(u), nonblock) }); err != nil {
			return fmt.Errorf("socket %s: %w", s.Spec, err)
		}
		if serr != nil {
			return fmt.Errorf("socket %s: O_NONBLOCK: %w", s.Spec, serr)
		}
	}
	return nil
}

// Addr returns the socket's bound address (useful after binding port 0). It reads it with getsockname(2) rather
// than through net.FileListener, which would set O_NONBLOCK on the description the workers share.
func (s *Socket) Addr() (net.Addr, error) {
	rc, err := s.File.SyscallConn()
	if err != nil {
		return nil, err
	}
	var sa unix.Sockaddr
	var gerr error
	if err := rc.Control(func(u uintptr) { sa, gerr = unix.Getsockname(int(u)) }); err != nil {
		return nil, err
	}
	if gerr != nil {
		return nil, fmt.Errorf("getsockname %s: %w", s.Spec, gerr)
	}
	udp := s.Spec.Network == "udp" || s.Spec.Network == "udp4" || s.Spec.Network == "udp6"
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		if udp {
			return &net.UDPAddr{IP: net.IP(a.Addr[:]).To16(), Port: a.Port}, nil
		}
		return &net.TCPAddr{IP: net.IP(a.Addr[:]).To16(), Port: a.Port}, nil
	case *unix.SockaddrInet6:
		ip := append(net.IP(nil), a.Addr[:]...)
		zone := ""
		if a.ZoneId != 0 {
			if ifi, err := net.InterfaceByIndex(int(a.ZoneId)); err == nil {
				zone = ifi.Name
			}
		}
		if udp {
			return &net.UDPAddr{IP: ip, Port: a.Port, Zone: zone}, nil
		}
		return &net.TCPAddr{IP: ip, Port: a.Port, Zone: zone}, nil
	case *unix.SockaddrUnix:
		return &net.UnixAddr{Name: a.Name, Net: "unix"}, nil
	}
	return nil, fmt.Errorf("getsockname %s: unexpected address %T", s.Spec, sa)
}
