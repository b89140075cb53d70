package activation

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseSpec(t *testing.T) {
	tests := []struct {
		in      string
		want    Spec
		wantErr string
	}{
		{"tcp://127.0.0.1:8080", Spec{"127.0.0.1:8080", "tcp", "127.0.0.1:8080"}, ""},
		{"web=tcp://:8080", Spec{"web", "tcp", ":8080"}, ""},
		{"tcp6://[::1]:80", Spec{"[::1]:80", "tcp6", "[::1]:80"}, ""},
		{"udp://0.0.0.0:5353", Spec{"0.0.0.0:5353", "udp", "0.0.0.0:5353"}, ""},
		{"unix:///run/app.sock", Spec{"/run/app.sock", "unix", "/run/app.sock"}, ""},
		{"api=unix:///run/app.sock", Spec{"api", "unix", "/run/app.sock"}, ""},
		{"systemd:web", Spec{"web", "systemd", "web"}, ""},
		{"systemd:", Spec{}, "systemd:NAME"},
		{"tcp://127.0.0.1", Spec{}, "host:port"},
		{"http://x:80", Spec{}, "unknown scheme"},
		{"8080", Spec{}, "expected tcp://"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseSpec(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to mention %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseSpec = %+v, %v; want %+v", got, err, tt.want)
			}
			if strings.Contains(got.Name, ":") {
				return // a name with ":" cannot be written as a name= prefix
			}
			if again, err := ParseSpec(got.Name + "=" + got.String()); err != nil || again != got {
				t.Fatalf("round trip %q: %+v %v", got.String(), again, err)
			}
		})
	}
}

func TestBindAndEnv(t *testing.T) {
	dir := t.TempDir()
	tcp, err := Bind(Spec{Name: "web", Network: "tcp", Address: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer tcp.Close()
	sock := filepath.Join(dir, "a.sock")
	os.WriteFile(sock, nil, 0o600) // a stale path from an earlier run is replaced
	ux, err := Bind(Spec{Name: "ctl:x", Network: "unix", Address: sock})
	if err != nil {
		t.Fatal(err)
	}
	udp, err := Bind(Spec{Name: "dns", Network: "udp", Address: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	env := strings.Join(Env([]*Socket{tcp, ux, udp}), " ")
	if env != "LISTEN_FDS=3 LISTEN_FDNAMES=web:ctl_x:dns" {
		t.Fatalf("Env = %q", env)
	}
	addr, err := tcp.Addr()
	if err != nil {
		t.Fatal(err)
	}
	// The bound socket accepts while nothing serves it yet: connections wait in the backlog, never refused.
	c, err := net.Dial("tcp", addr.String())
	if err != nil {
		t.Fatalf("dial the held socket: %v", err)
	}
	c.Close()
	if _, err := os.Stat(sock); err != nil {
		t.Fatalf("unix socket path must survive Addr(): %v", err)
	}
	ux.Close()
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Fatalf("Close must remove the unix socket path: %v", err)
	}
	if _, err := Bind(Spec{Network: "systemd", Address: "web"}); err == nil {
		t.Fatal("Bind of a systemd spec must fail")
	}
}

// TestUnixPathLimit: a unix socket path longer than a client can connect to (sun_path: 107 bytes and a NUL) is
// refused by ParseSpec, naming the limit. BindUnixIn binds through /proc/self/fd/N/NAME, which the kernel takes
// whatever the path's length: such a socket was bound and its app started, and every client's connect failed
// with EINVAL.
func TestUnixPathLimit(t *testing.T) {
	base := t.TempDir()
	for _, n := range []int{MaxUnixPath, MaxUnixPath + 1} {
		// base/ddd.../s: a path of exactly n bytes.
		dir := filepath.Join(base, strings.Repeat("d", n-len(base)-len("//s")))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, "s")
		if len(path) != n {
			t.Fatalf("path of %d bytes, want %d", len(path), n)
		}
		spec, err := ParseSpec("unix://" + path)
		if n > MaxUnixPath {
			if err == nil || !strings.Contains(err.Error(), "MaxUnixPath") {
				t.Errorf("ParseSpec of a %d-byte path: %v, want an error naming MaxUnixPath", n, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("ParseSpec of a %d-byte path: %v", n, err)
		}
		d, err := os.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		s, err := BindUnixIn(d, spec)
		if err != nil {
			d.Close()
			t.Fatal(err)
		}
		c, err := net.Dial("unix", path)
		if err != nil {
			t.Errorf("dial the %d-byte path: %v", n, err)
		} else {
			c.Close()
		}
		s.Close()
	}
}
