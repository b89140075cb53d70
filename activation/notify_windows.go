package activation

import (
	"fmt"
	"os"
)

// Notify does nothing on Windows: the service manager is told through kardianos/service instead.
func Notify(state string) (bool, error) { return false, nil }

// NotifyWithFDs does nothing on Windows.
func NotifyWithFDs(state string, files ...*os.File) (bool, error) { return false, nil }

// NotifyServer is not available on Windows.
type NotifyServer struct{}

// ListenNotify is not available on Windows.
func ListenNotify(path string) (*NotifyServer, error) {
	return nil, fmt.Errorf("notify socket: not supported on this OS yet")
}

// Path is empty on Windows.
func (s *NotifyServer) Path() string { return "" }

// Close does nothing on Windows.
func (s *NotifyServer) Close() error { return nil }

// Recv fails on Windows.
func (s *NotifyServer) Recv() (Message, error) {
	return Message{}, fmt.Errorf("notify socket: not supported on this OS yet")
}

// SendNotify is not available on Windows.
func SendNotify(addr, state string, files ...*os.File) error {
	return fmt.Errorf("notify: not supported on this OS yet")
}

// SendNotifyFDs is not available on Windows.
func SendNotifyFDs(addr, state string, fds ...int) error {
	return fmt.Errorf("notify: not supported on this OS yet")
}

// DupFD is not available on Windows.
func DupFD(f *os.File) (int, error) { return -1, fmt.Errorf("dup: not supported on this OS yet") }

// CloseFD does nothing on Windows.
func CloseFD(fd int) {}
