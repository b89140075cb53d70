package activation

import (
	"net"

	"golang.org/x/sys/unix"
)

// passCred asks the kernel to attach the sender's pid and uid to every datagram (SCM_CREDENTIALS): this is how the
// supervisor knows which worker said READY=1, as systemd does for NotifyAccess=.
func passCred(c *net.UnixConn) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_PASSCRED, 1)
	}); err != nil {
		return err
	}
	return serr
}

func parseCred(c *unix.SocketControlMessage) ([2]int, bool) {
	cred, err := unix.ParseUnixCredentials(c)
	if err != nil {
		return [2]int{}, false
	}
	return [2]int{int(cred.Pid), int(cred.Uid)}, true
}
