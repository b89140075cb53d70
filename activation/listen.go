package activation

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// Spec is one socket to listen on, from an address such as "tcp://127.0.0.1:8080", "tcp6://[::1]:8080",
// "unix:///run/app.sock", "udp://0.0.0.0:5353" or "systemd:web" (an fd named web handed in by systemd).
type Spec struct {
	Name    string // LISTEN_FDNAMES entry; defaults to the address
	Network string // tcp, tcp4, tcp6, unix, udp, udp4, udp6, or systemd
	Address string // host:port, a path, or the systemd fd name
}

// String is the spec as an address that ParseSpec reads back as s (without its name). Address holds what url.Parse
// decoded, so what it would decode, cut or refuse is escaped: '%' (an IPv6 zone, "[fe80::1%25eth0]:80"), and in a
// path '?', '#' and control characters.
func (s Spec) String() string {
	switch s.Network {
	case "systemd":
		return "systemd:" + s.Address
	case "unix":
		return "unix://" + escapePath(s.Address)
	}
	return s.Network + "://" + strings.ReplaceAll(s.Address, "%", "%25")
}

// escapePath escapes a unix socket path for a unix:// URL.
func escapePath(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		switch c := p[i]; {
		case c < 0x20 || c == 0x7f || c == '%' || c == '?' || c == '#':
			fmt.Fprintf(&b, "%%%02X", c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// MaxUnixPath is the longest unix socket path, in bytes: what sun_path holds with its NUL (108 on Linux, Windows
// and in Go's net; 104 on macOS, where binding a longer one fails). A client connects by the path, so a longer one
// is refused even where the daemon could bind it through its directory's descriptor (BindUnixIn).
const MaxUnixPath = 107

// ParseSpec parses an address, optionally prefixed with "name=" ("web=tcp://:8080").
func ParseSpec(s string) (Spec, error) {
	var sp Spec
	if name, rest, ok := strings.Cut(s, "="); ok && !strings.Contains(name, ":") {
		sp.Name, s = name, rest
	}
	if rest, ok := strings.CutPrefix(s, "systemd:"); ok {
		if rest == "" {
			return sp, fmt.Errorf("listen %q: expected systemd:NAME (the FileDescriptorName= of the socket unit)", s)
		}
		sp.Network, sp.Address = "systemd", rest
		if sp.Name == "" {
			sp.Name = rest
		}
		return sp, nil
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" {
		return sp, fmt.Errorf("listen %q: expected tcp://host:port, tcp6://[host]:port, udp://host:port, unix:///path or systemd:NAME", s)
	}
	switch u.Scheme {
	case "tcp", "tcp4", "tcp6", "udp", "udp4", "udp6":
		if u.Host == "" || u.Port() == "" {
			return sp, fmt.Errorf("listen %q: expected %s://host:port", s, u.Scheme)
		}
		sp.Network, sp.Address = u.Scheme, u.Host
	case "unix":
		p := u.Path
		if u.Host != "" { // unix://relative/path
			p = u.Host + u.Path
		}
		if p == "" {
			return sp, fmt.Errorf("listen %q: expected unix:///absolute/path", s)
		}
		if len(p) > MaxUnixPath {
			return sp, fmt.Errorf("listen %q: the path is %d bytes, longer than clients can connect to (%d, MaxUnixPath)", s, len(p), MaxUnixPath)
		}
		sp.Network, sp.Address = "unix", p
	default:
		return sp, fmt.Errorf("listen %q: unknown scheme %q (tcp, tcp4, tcp6, udp, udp4, udp6, unix, systemd)", s, u.Scheme)
	}
	if sp.Name == "" {
		sp.Name = sp.Address
	}
	return sp, nil
}

// Socket is one bound socket as a file, ready to be inherited.
type Socket struct {
	Spec Spec
	File *os.File
	// Dir, when set, is the directory holding a unix socket, opened (and checked) by the caller: Close removes the
	// socket's name in it through the descriptor, never through its path walked again (BindUnixIn).
	Dir *os.File
}

// Bind creates the socket of s. A unix socket path left by a previous run is replaced; the socket file is not
// removed when the listener closes, because workers still hold it (Go's default would unlink it under them).
// The socket is in blocking mode (systemd's NonBlocking=no) and its file is not on Go's poller; SetNonblock
// changes the mode.
func Bind(s Spec) (*Socket, error) {
	var f *os.File
	var err error
	switch s.Network {
	case "tcp", "tcp4", "tcp6", "unix":
		if s.Network == "unix" {
			if err := os.Remove(s.Address); err != nil && !errors.Is(err, os.ErrNotExist) {
				return nil, fmt.Errorf("listen %s: %w", s, err)
			}
		}
		var ln net.Listener
		ln, err = net.Listen(s.Network, s.Address)
		if err != nil {
			return nil, fmt.Errorf("listen %s: %w", s, err)
		}
		if ul, ok := ln.(*net.UnixListener); ok {
			ul.SetUnlinkOnClose(false)
		}
		f, err = socketFile(ln.(syscall.Conn), s.String())
		ln.Close()
	case "udp", "udp4", "udp6":
		var pc net.PacketConn
		pc, err = net.ListenPacket(s.Network, s.Address)
		if err != nil {
			return nil, fmt.Errorf("listen %s: %w", s, err)
		}
		f, err = socketFile(pc.(syscall.Conn), s.String())
		pc.Close()
	default:
		return nil, fmt.Errorf("listen %s: %s sockets come from systemd, not from Bind", s, s.Network)
	}
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", s, err)
	}
	return &Socket{Spec: s, File: f}, nil
}

// Close closes the socket (a unix socket's path is removed too: nothing serves it any more; through Dir when set).
func (s *Socket) Close() error {
	if s.Spec.Network == "unix" {
		if s.Dir != nil {
			unlinkIn(s.Dir, filepath.Base(s.Spec.Address))
			s.Dir.Close()
		} else {
			os.Remove(s.Spec.Address)
		}
	}
	return s.File.Close()
}

// BindUnixIn is Bind for a unix socket whose directory dir the caller opened and checked (a root daemon binding
// where an app's user can write: platform/safefs.OpenDir): the name left by a previous run is removed with unlinkat
// in dir, and the socket is bound through /proc/self/fd/N/NAME on Linux, so a directory on the way swapped for a
// link meanwhile cannot make the daemon remove or replace a file elsewhere. (Elsewhere the bind goes through the
// path, checked but not held.) The Socket keeps dir, for Close.
func BindUnixIn(dir *os.File, s Spec) (*Socket, error) {
	if s.Network != "unix" {
		return nil, fmt.Errorf("listen %s: BindUnixIn binds unix sockets only", s)
	}
	name := filepath.Base(s.Address)
	if err := unlinkIn(dir, name); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("listen %s: %w", s, err)
	}
	ln, err := net.Listen("unix", pathIn(dir, name, s.Address))
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", s, err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	f, err := socketFile(ln.(syscall.Conn), s.String())
	ln.Close()
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", s, err)
	}
	return &Socket{Spec: s, File: f, Dir: dir}, nil
}

// Env returns the variables a worker needs besides LISTEN_PID: LISTEN_FDS and LISTEN_FDNAMES for socks passed as
// fds 3, 4, ... in order.
func Env(socks []*Socket) []string {
	if len(socks) == 0 {
		return nil
	}
	names := make([]string, len(socks))
	for i, s := range socks {
		// ':' separates names in LISTEN_FDNAMES, so it cannot appear inside one.
		names[i] = strings.ReplaceAll(s.Spec.Name, ":", "_")
	}
	return []string{fmt.Sprintf("LISTEN_FDS=%d", len(socks)), "LISTEN_FDNAMES=" + strings.Join(names, ":")}
}

// Files returns the sockets' files in order, for exec's ExtraFiles.
func Files(socks []*Socket) []*os.File {
	out := make([]*os.File, len(socks))
	for i, s := range socks {
		out[i] = s.File
	}
	return out
}
