package platform

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// umaskSeen reads the process umask from /proc/self/status (Linux 4.7+) without changing it; "" if unknown.
func umaskSeen() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return ""
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "Umask:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// TestItem16ListenKeepsUmask: creating the control socket (and the Node shim's notify streams, made the same way)
// never changes the process-wide umask that files created meanwhile by other goroutines get; the socket is 0600,
// answers at its path, and Close removes it.
func TestItem16ListenKeepsUmask(t *testing.T) {
	want := umaskSeen()
	if want == "" {
		t.Skip("no Umask in /proc/self/status")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "gpm.sock")
	stop := make(chan struct{})
	seen := make(chan string, 1)
	go func() {
		defer close(seen)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if u := umaskSeen(); u != want {
				seen <- u
				<-stop
				return
			}
		}
	}()
	for i := 0; i < 500 && len(seen) == 0; i++ {
		ln, err := Listen(path)
		if err != nil {
			close(stop)
			t.Fatal(err)
		}
		if i == 0 {
			st, err := os.Stat(path)
			if err != nil || st.Mode().Perm() != 0o600 {
				t.Errorf("control socket: %v, %v; want mode 0600", st, err)
			}
			if a := ln.Addr().String(); a != path {
				t.Errorf("Addr() = %s, want %s", a, path)
			}
			c, err := net.Dial("unix", path)
			if err != nil {
				t.Errorf("dial %s: %v", path, err)
			} else {
				c.Close()
			}
		}
		ln.Close()
		if _, err := os.Stat(path); !os.IsNotExist(err) {
			close(stop)
			t.Fatalf("Close left %s: %v", path, err)
		}
	}
	close(stop)
	if u, ok := <-seen; ok {
		t.Fatalf("the umask was %s while the control socket was created; want it left at %s", u, want)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("left in the socket's directory: %v", ents)
	}
}
