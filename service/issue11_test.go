package service

import (
	"net"
	"sync"
	"syscall"
	"testing"
	"time"
)

// failingListener fails Accept with EMFILE a few times (the daemon out of file descriptors), then reports itself
// closed.
type failingListener struct {
	mu      sync.Mutex
	calls   int
	failFor int
}

func (l *failingListener) Accept() (net.Conn, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls++
	if l.calls <= l.failFor {
		return nil, &net.OpError{Op: "accept", Net: "unix", Err: syscall.EMFILE}
	}
	return nil, net.ErrClosed
}
func (l *failingListener) Close() error   { return nil }
func (l *failingListener) Addr() net.Addr { return &net.UnixAddr{Name: "test", Net: "unix"} }

// TestItem3NodeNotifyAcceptRetry: an Accept error on the Node shim's notify stream (EMFILE under an fd limit) is
// retried, not the end of the server; only closing the listener ends it.
func TestItem3NodeNotifyAcceptRetry(t *testing.T) {
	d := New(Options{Home: t.TempDir()})
	ln := &failingListener{failFor: 3}
	done := make(chan struct{})
	go func() { d.serveNodeNotify(ln); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("serveNodeNotify did not return once the listener was closed")
	}
	if ln.calls != 4 {
		t.Fatalf("Accept called %d times; want 4 (3 failures retried, then closed)", ln.calls)
	}
}
