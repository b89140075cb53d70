//go:build unix

package activation

import (
	"fmt"
	"net"
	"os"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"
)

// Notify sends state (e.g. "READY=1\nSTATUS=serving") to $NOTIFY_SOCKET. Like sd_notify(3) it returns
// (false, nil) when NOTIFY_SOCKET is unset, (false, err) when sending failed, and (true, nil) when sent.
func Notify(state string) (bool, error) { return NotifyWithFDs(state) }

// NotifyWithFDs is Notify with files attached (SCM_RIGHTS), for FDSTORE=1. go-systemd's SdNotify cannot attach
// files (coreos/go-systemd#442), hence this sender.
func NotifyWithFDs(state string, files ...*os.File) (bool, error) {
	addr := os.Getenv("NOTIFY_SOCKET")
	if addr == "" {
		return false, nil
	}
	if err := SendNotify(addr, state, files...); err != nil {
		return false, err
	}
	return true, nil
}

// SendNotify sends state, with files, to the notify socket at addr ("/path" or "@abstract"). It never blocks: when
// the receiver's queue is full it returns an error wrapping unix.EAGAIN.
func SendNotify(addr, state string, files ...*os.File) error {
	var fds []int
	for _, f := range files {
		// SyscallConn().Control avoids Fd(), which would switch the file to blocking mode.
		rc, err := f.SyscallConn()
		if err != nil {
			return fmt.Errorf("notify: %w", err)
		}
		rc.Control(func(u uintptr) { fds = append(fds, int(u)) })
	}
	err := SendNotifyFDs(addr, state, fds...)
	runtime.KeepAlive(files)
	return err
}

// SendNotifyFDs is SendNotify with raw descriptors (from DupFD) attached.
func SendNotifyFDs(addr, state string, fds ...int) error {
	if addr[0] == '@' {
		addr = "\x00" + addr[1:]
	}
	// An unconnected socket: Go refuses WriteMsgUnix on a connected datagram socket.
	syscall.ForkLock.RLock()
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM, 0)
	if err == nil {
		unix.CloseOnExec(fd)
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return fmt.Errorf("notify: socket: %w", err)
	}
	defer unix.Close(fd)
	var oob []byte
	if len(fds) > 0 {
		oob = unix.UnixRights(fds...)
	}
	// Never block: a receiver that stops reading (its queue holds net.unix.max_dgram_qlen messages, 10 by default)
	// would otherwise wedge the sender. A full queue fails with EAGAIN; the caller decides whether to retry.
	if err := unix.Sendmsg(fd, []byte(state), oob, &unix.SockaddrUnix{Name: addr}, unix.MSG_DONTWAIT); err != nil {
		return fmt.Errorf("notify %s: %w", addr, err)
	}
	return nil
}

// DupFD returns a new descriptor (close-on-exec) of f's open file, for a sender that may outlive f. It is a raw
// descriptor, not an os.File: os.NewFile would put a non-blocking socket on Go's poller. Close it with CloseFD.
func DupFD(f *os.File) (int, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return -1, fmt.Errorf("dup: %w", err)
	}
	fd, derr := -1, error(nil)
	if err := rc.Control(func(u uintptr) { fd, derr = unix.FcntlInt(u, unix.F_DUPFD_CLOEXEC, 0) }); err != nil {
		return -1, fmt.Errorf("dup: %w", err)
	}
	if derr != nil {
		return -1, fmt.Errorf("dup: %w", derr)
	}
	return fd, nil
}

// CloseFD closes a descriptor from DupFD.
func CloseFD(fd int) { unix.Close(fd) }

// NotifyServer receives sd_notify messages from workers.
type NotifyServer struct {
	conn *net.UnixConn
	path string
}

// ListenNotify creates the notify socket at path (mode 0600: workers of the same user may write to it).
func ListenNotify(path string) (*NotifyServer, error) {
	if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
		return nil, fmt.Errorf("notify socket: %w", err)
	}
	var conn *net.UnixConn
	err := BindUnixPrivate(path, 0o600, func(tmp string) (err error) {
		conn, err = net.ListenUnixgram("unixgram", &net.UnixAddr{Name: tmp, Net: "unixgram"})
		return err
	})
	if err != nil {
		if conn != nil {
			conn.Close()
		}
		return nil, fmt.Errorf("notify socket: %w", err)
	}
	if err := passCred(conn); err != nil {
		conn.Close()
		return nil, fmt.Errorf("notify socket: %w", err)
	}
	return &NotifyServer{conn: conn, path: path}, nil
}

// Path is the value to give workers as NOTIFY_SOCKET.
func (s *NotifyServer) Path() string { return s.path }

// Close stops the server and removes its socket.
func (s *NotifyServer) Close() error {
	os.Remove(s.path)
	return s.conn.Close()
}

// Recv waits for the next message. Files sent with it are closed: workers have no business storing fds with gpm.
// A message longer than MaxNotifyMessage comes back Truncated and without fields: applying the part that fits
// would act on a cut value, or miss a READY=1 after a long STATUS=; systemd drops such a message too.
func (s *NotifyServer) Recv() (Message, error) {
	buf := make([]byte, MaxNotifyMessage)
	oob := make([]byte, 1024)
	n, oobn, flags, _, err := s.conn.ReadMsgUnix(buf, oob)
	if err != nil {
		return Message{}, err
	}
	m := Message{PID: -1, UID: -1}
	if flags&unix.MSG_TRUNC != 0 {
		m.Truncated = true
	} else {
		m.Fields = ParseState(string(buf[:n]))
	}
	if cmsgs, err := unix.ParseSocketControlMessage(oob[:oobn]); err == nil {
		for _, c := range cmsgs {
			if fds, err := unix.ParseUnixRights(&c); err == nil {
				for _, fd := range fds {
					unix.Close(fd)
				}
			}
			if cred, ok := parseCred(&c); ok {
				m.PID, m.UID = cred[0], cred[1]
			}
		}
	}
	return m, nil
}
