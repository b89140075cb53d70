package platform

import (
	"context"
	"fmt"
	"syscall"
)

// Start is not implemented on Windows yet.
func Start(c *Cmd) (int, error) { return 0, fmt.Errorf("start %s: %w", c.Path, ErrUnsupported) }

// ParseSignal knows only what Windows can deliver.
func ParseSignal(s string) (syscall.Signal, error) {
	return 0, fmt.Errorf("signal %s: %w", s, ErrUnsupported)
}

// SignalName is the name of sig.
func SignalName(sig syscall.Signal) string { return sig.String() }

// Signal is not implemented on Windows yet.
func Signal(pid int, sig syscall.Signal) error { return ErrUnsupported }

// SignalGroup is not implemented on Windows yet.
func SignalGroup(pid int, sig syscall.Signal) error { return ErrUnsupported }

// GroupAlive is not implemented on Windows yet.
func GroupAlive(pid int) bool { return false }

// Alive is not implemented on Windows yet.
func Alive(pid int) bool { return false }

// Reap returns at once on Windows: nothing is started there yet.
func Reap(ctx context.Context, out chan<- Exit) { <-ctx.Done() }

// DetachedAttr starts the daemon without a console window.
func DetachedAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{HideWindow: true} }

// SetSubreaper has no Windows meaning.
func SetSubreaper() error { return nil }

// Descendants is not implemented on Windows yet.
func Descendants(pid int) []int { return nil }

// ParentPID is not implemented on Windows yet.
func ParentPID(pid int) int { return 0 }
