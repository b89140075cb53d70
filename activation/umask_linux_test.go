package activation

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

// TestBindUnixPrivateWhereNobodyReaches: whether the socket's directory is private (a GPM_HOME, 0700: bound in it
// through its descriptor) or not (0755: bound in a temporary 0700 directory beside), the socket is bound where
// only its owner can reach it, appears at its path with its mode, and leaves nothing else behind.
func TestBindUnixPrivateWhereNobodyReaches(t *testing.T) {
	for _, perm := range []os.FileMode{0o700, 0o755} {
		dir := filepath.Join(t.TempDir(), "d")
		if err := os.Mkdir(dir, perm); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(dir, perm); err != nil { // whatever the umask
			t.Fatal(err)
		}
		path := filepath.Join(dir, "gpm.sock")
		var s *NotifyServer
		err := BindUnixPrivate(path, 0o600, func(tmp string) error {
			st, err := os.Stat(filepath.Dir(tmp))
			if err != nil {
				return err
			}
			if st.Mode().Perm()&0o077 != 0 {
				t.Errorf("dir %o: bound in %s, mode %o: others may reach it", perm, filepath.Dir(tmp), st.Mode().Perm())
			}
			if _, err := os.Lstat(path); err == nil {
				t.Errorf("dir %o: %s is there before the socket is bound and has its mode", perm, path)
			}
			conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: tmp, Net: "unixgram"})
			if err == nil {
				s = &NotifyServer{conn: conn, path: path}
			}
			return err
		})
		if err != nil {
			t.Fatalf("dir %o: %v", perm, err)
		}
		if st, err := os.Lstat(path); err != nil || st.Mode().Perm() != 0o600 || st.Mode().Type() != os.ModeSocket {
			t.Errorf("dir %o: %s: %v, %v; want a socket of mode 0600", perm, path, st, err)
		}
		if ents, _ := os.ReadDir(dir); len(ents) != 1 {
			t.Errorf("dir %o: %v in the directory; want the socket alone", perm, ents)
		}
		s.Close()
	}
}
