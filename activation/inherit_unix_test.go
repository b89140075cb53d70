//go:build unix

package activation

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestInheritedCountsOnlyPassedFDs: Inherited takes the descriptors LISTEN_FDS counts only when each of them was
// passed (open, and not close-on-exec, as nothing that crossed exec can be). A count that overstates what was
// passed took the process's own descriptors as sockets (gpmd then offered its own log file and epoll descriptor to
// apps asking for systemd:LISTEN_FD_N, and set them to blocking mode), and a huge count made the daemon die at
// start ("fatal error: runtime: out of memory", from a slice of that capacity).
func TestInheritedCountsOnlyPassedFDs(t *testing.T) {
	sock, err := Bind(Spec{Name: "web", Network: "tcp", Address: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer sock.Close()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, fds, names, want string
	}{
		{"passed", "1", "web", "files:web"},
		{"one more than passed", "2", "web:x", "error: LISTEN_FDS=2: descriptor 4 was not passed"},
		{"huge", "100000000000", "web", "error: LISTEN_FDS=100000000000: more descriptors than RLIMIT_NOFILE"},
		{"negative", "-1", "web", "files:"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			argv := TrampolineArgs(self, self, []string{self})
			cmd := exec.Command(argv[0], argv[1:]...)
			cmd.Env = append(os.Environ(), inheritHelperEnv+"=1", "LISTEN_FDS="+tt.fds, "LISTEN_FDNAMES="+tt.names)
			cmd.ExtraFiles = []*os.File{sock.File}
			cmd.Stderr = os.Stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("helper: %v (output %q)", err, out)
			}
			if got := strings.TrimSpace(string(out)); !strings.HasPrefix(got, tt.want) {
				t.Errorf("LISTEN_FDS=%s with one descriptor passed: %q, want %q...", tt.fds, got, tt.want)
			}
		})
	}
}
