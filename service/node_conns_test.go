//go:build unix

package service

import (
	"net"
	"os"
	"runtime"
	"testing"
	"time"
)

// TestNodeNotifyConnLimit: connections to a notify stream that send nothing are served at most maxShimConns at a
// time. Each one served holds a goroutine, a buffer and a descriptor of the daemon for shimTimeout, and the stream
// of a guest uid is open to every process of that user: an app opening connections in a loop took the root
// daemon's descriptors (and with them every app's start) without bound. The others wait in the listen backlog.
func TestNodeNotifyConnLimit(t *testing.T) {
	d := runDaemon(t, Options{})
	select {
	case <-d.Serving():
	case <-time.After(30 * time.Second):
		t.Fatal("the daemon did not serve within 30 s")
	}
	stream := d.path(NotifyStreamName)
	if _, err := os.Stat(stream); err != nil {
		t.Fatalf("the daemon has no notify stream: %v", err)
	}
	base := runtime.NumGoroutine()
	const extra = 200
	for i := 0; i < maxShimConns+extra; i++ {
		c, err := net.Dial("unix", stream)
		if err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
		t.Cleanup(func() { c.Close() })
	}
	// The first maxShimConns are served at once; more than that would show within the second that follows.
	deadline := time.Now().Add(20 * time.Second)
	for runtime.NumGoroutine() < base+maxShimConns {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines serve the connections, want %d", runtime.NumGoroutine()-base, maxShimConns)
		}
		time.Sleep(10 * time.Millisecond)
	}
	for end := time.Now().Add(time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if n := runtime.NumGoroutine() - base; n > maxShimConns+extra/2 {
			t.Fatalf("%d connections served at once (goroutines), past maxShimConns (%d)", n, maxShimConns)
		}
	}
}
