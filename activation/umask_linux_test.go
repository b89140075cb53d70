package activation

import (
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

// TestItem16ListenNotifyKeepsUmask: creating the notify socket never changes the process-wide umask, which the
// files other goroutines create meanwhile (logs, pid files, the dump) would get. A watcher reads the umask while
// sockets are created; the old code set it to 0177 around every bind.
func TestItem16ListenNotifyKeepsUmask(t *testing.T) {
	want := umaskSeen()
	if want == "" {
		t.Skip("no Umask in /proc/self/status")
	}
	dir := t.TempDir()
	stop := make(chan struct{})
	seen := make(chan string, 1)
	go func() {
		for {
			select {
			case <-stop:
				close(seen)
				return
			default:
			}
			if u := umaskSeen(); u != want {
				seen <- u
				<-stop
				close(seen)
				return
			}
		}
	}()
	for i := 0; i < 500; i++ {
		s, err := ListenNotify(filepath.Join(dir, "notify.sock"))
		if err != nil {
			close(stop)
			t.Fatal(err)
		}
		if i == 0 {
			if st, err := os.Stat(s.Path()); err != nil || st.Mode().Perm() != 0o600 {
				t.Fatalf("notify socket: %v, %v; want mode 0600", st, err)
			}
		}
		s.Close()
		if len(seen) > 0 {
			break
		}
	}
	close(stop)
	if u, ok := <-seen; ok {
		t.Fatalf("the umask was %s while the notify socket was created; want it left at %s", u, want)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("left in the socket's directory: %v", ents)
	}
}
