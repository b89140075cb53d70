package service

import (
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gpmd/gpm/api"
	"github.com/gpmd/gpm/web/webconf"
	"github.com/gpmd/gpm/web/webctl"
)

// runDaemonAt runs a daemon in home until the returned stop is called (or the test ends).
func runDaemonAt(t *testing.T, home string) (*Daemon, func()) {
	t.Helper()
	d := New(Options{Home: home, Socket: filepath.Join(home, api.SocketName)})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("Run did not return within 30 s of its context's end")
		}
	}
	t.Cleanup(stop)
	deadline := time.Now().Add(30 * time.Second)
	for d.Caller().Call(ctx, api.MethodPing, nil, nil) != nil {
		if time.Now().After(deadline) {
			t.Fatal("the daemon did not answer a ping within 30 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return d, stop
}

func webCall(t *testing.T, d *Daemon, p webctl.Params) (*webctl.Status, error) {
	t.Helper()
	var st webctl.Status
	err := d.Caller().Call(context.Background(), webctl.Method, p, &st)
	return &st, err
}

// getStatus GETs url with token, waiting (up to 30 s) for it to answer when want is 200, or to stop answering when
// want is 0.
func waitGet(t *testing.T, c *http.Client, url, token string, want int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		req, _ := http.NewRequest("GET", url, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := c.Do(req)
		got := 0
		if err == nil {
			got = resp.StatusCode
			resp.Body.Close()
		}
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: %d (%v), want %d", url, got, err, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// `gpm web` is remembered: a new daemon in the same home serves the API again; --off is remembered too; a
// rotated token replaces the old one at once; a non-loopback address needs public.
func TestWebSettingSurvivesRestart(t *testing.T) {
	home := t.TempDir()
	os.Chmod(home, 0o700)
	d, stop := runDaemonAt(t, home)
	if st, err := webCall(t, d, webctl.Params{Status: true}); err != nil || st.On {
		t.Fatalf("status of a new home: %+v %v, want off", st, err)
	}
	if _, err := webCall(t, d, webctl.Params{Addr: "0.0.0.0:9"}); err == nil || !strings.Contains(err.Error(), "--public") {
		t.Fatalf("a non-loopback address without public: %v, want a refusal naming --public", err)
	}
	if _, err := os.Stat(filepath.Join(home, webconf.ConfigName)); err == nil {
		t.Fatalf("a refused address was saved")
	}
	addr := freePort(t)
	st, err := webCall(t, d, webctl.Params{Addr: addr})
	if err != nil || !st.On || st.Addr != addr || st.Token == "" || !strings.Contains(st.Link, "#token="+st.Token) {
		t.Fatalf("web on %s: %+v %v", addr, st, err)
	}
	fi, err := os.Stat(st.TokenPath)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file: %v %v, want 0600", fi.Mode(), err)
	}
	url := "http://" + addr + "/api/version"
	waitGet(t, http.DefaultClient, url, st.Token, 200)
	stop()
	waitGet(t, http.DefaultClient, url, "", 0)

	d, stop = runDaemonAt(t, home)
	waitGet(t, http.DefaultClient, url, st.Token, 200)
	rot, err := webCall(t, d, webctl.Params{RotateToken: true})
	if err != nil || rot.Token == st.Token || !rot.On {
		t.Fatalf("rotate: %+v %v", rot, err)
	}
	waitGet(t, http.DefaultClient, url, st.Token, 401)
	waitGet(t, http.DefaultClient, url, rot.Token, 200)
	if st, err := webCall(t, d, webctl.Params{Off: true}); err != nil || st.On {
		t.Fatalf("off: %+v %v", st, err)
	}
	waitGet(t, http.DefaultClient, url, "", 0)
	stop()
	d, _ = runDaemonAt(t, home)
	if st, err := webCall(t, d, webctl.Params{Status: true}); err != nil || st.On {
		t.Fatalf("after off and a restart: %+v %v, want off", st, err)
	}
	if _, err := os.Stat(filepath.Join(home, webconf.ConfigName+".bak")); err != nil {
		t.Errorf("no %s.bak: %v", webconf.ConfigName, err)
	}
}

// unix:PATH serves on a 0600 socket in a directory of the daemon's user; a directory others can write is refused.
func TestWebUnixSocket(t *testing.T) {
	home := t.TempDir()
	os.Chmod(home, 0o700)
	d, _ := runDaemonAt(t, home)
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	sock := filepath.Join(dir, "web.sock")
	st, err := webCall(t, d, webctl.Params{Addr: "unix:" + sock})
	if err != nil || !st.On {
		t.Fatalf("web on unix:%s: %+v %v", sock, st, err)
	}
	fi, err := os.Stat(sock)
	if err != nil || fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket %s: %v %v, want a 0600 socket", sock, fi, err)
	}
	c := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	waitGet(t, c, "http://localhost/api/processes", "", 200)

	open := t.TempDir()
	os.Chmod(open, 0o777)
	if _, err := webCall(t, d, webctl.Params{Addr: "unix:" + filepath.Join(open, "web.sock")}); err == nil {
		t.Fatalf("a socket in a directory anyone can write was accepted")
	}
	// The refusal left the running API as it was.
	waitGet(t, c, "http://localhost/api/processes", "", 200)
	if _, err := webCall(t, d, webctl.Params{Off: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(sock); err == nil {
		t.Errorf("the socket is still there after off")
	}
}
