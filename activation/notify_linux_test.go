package activation

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestNotifyRoundTrip(t *testing.T) {
	srv, err := ListenNotify(filepath.Join(t.TempDir(), "notify.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	st, _ := os.Stat(srv.Path())
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("notify socket mode %v, want 0600", st.Mode().Perm())
	}
	t.Setenv("NOTIFY_SOCKET", srv.Path())
	r, w, _ := os.Pipe()
	defer r.Close()
	defer w.Close()
	tests := []struct {
		state string
		files []*os.File
		want  map[string]string
	}{
		{"READY=1", nil, map[string]string{"READY": "1"}},
		{"STATUS=serving 3 clients\nWATCHDOG=1", nil, map[string]string{"STATUS": "serving 3 clients", "WATCHDOG": "1"}},
		{"FDSTORE=1\nFDNAME=web", []*os.File{r}, map[string]string{"FDSTORE": "1", "FDNAME": "web"}},
	}
	for _, tt := range tests {
		sent, err := NotifyWithFDs(tt.state, tt.files...)
		if !sent || err != nil {
			t.Fatalf("Notify(%q) = %v, %v", tt.state, sent, err)
		}
		m, err := srv.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if m.PID != os.Getpid() || m.UID != os.Getuid() {
			t.Fatalf("credentials pid %d uid %d, want %d %d", m.PID, m.UID, os.Getpid(), os.Getuid())
		}
		for k, v := range tt.want {
			if m.Fields[k] != v {
				t.Fatalf("%q: field %s = %q, want %q", tt.state, k, m.Fields[k], v)
			}
		}
	}
	t.Setenv("NOTIFY_SOCKET", "")
	if sent, err := Notify("READY=1"); sent || err != nil {
		t.Fatalf("without NOTIFY_SOCKET: %v %v, want false nil", sent, err)
	}
}

// A message over MaxNotifyMessage comes back Truncated and without fields (its READY=1 after a long STATUS= is not
// half-applied), and the next one is whole.
func TestNotifyTruncated(t *testing.T) {
	srv, err := ListenNotify(filepath.Join(t.TempDir(), "notify.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	t.Setenv("NOTIFY_SOCKET", srv.Path())
	long := "STATUS=" + strings.Repeat("x", MaxNotifyMessage) + "\nREADY=1"
	for _, state := range []string{long, "READY=1"} {
		if sent, err := Notify(state); !sent || err != nil {
			t.Fatalf("Notify of %d bytes = %v, %v", len(state), sent, err)
		}
	}
	m, err := srv.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if !m.Truncated || m.Fields != nil {
		t.Fatalf("a message of %d bytes: Truncated %v, fields %d, want true and none", len(long), m.Truncated, len(m.Fields))
	}
	if m, err = srv.Recv(); err != nil || m.Truncated || m.Fields["READY"] != "1" {
		t.Fatalf("the next message: %+v %v, want READY=1", m.Fields, err)
	}
}
