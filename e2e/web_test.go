//go:build linux

package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// webPort returns a port free on every interface at the time of the call.
func webPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// webGet GETs url with token ("" for none) and returns the status (0 when nothing answered) and body.
func webGet(c *http.Client, url, token string) (int, string) {
	req, _ := http.NewRequest("GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// nonLoopbackIP returns an address of this host that is not loopback, or nil.
func nonLoopbackIP() net.IP {
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
			return n.IP
		}
	}
	return nil
}

// gpm web: a non-loopback address is refused without --public; with it and no TLS, a warning; with --cert/--key,
// TLS. The setting survives `gpm kill` and a new daemon; --off too.
func TestWebCLI(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	port := webPort(t)
	_, stderr, code := run(t, home, "web", "0.0.0.0:"+port)
	if code == 0 || !strings.Contains(stderr, "--public") {
		t.Fatalf("gpm web 0.0.0.0:%s without --public: exit %d, stderr %q; want a refusal naming --public", port, code, stderr)
	}
	// The first daemon runs gpmd, which has no HTTP server: --restart puts it on gpmd-web (TestWebProgram).
	out, stderr, code := run(t, home, "web", "--public", "0.0.0.0:"+port, "--restart")
	if code != 0 || !strings.Contains(stderr, "clear text") {
		t.Fatalf("gpm web --public without TLS: exit %d, stderr %q; want a warning about clear text", code, stderr)
	}
	token := strings.TrimSpace(readFile(t, filepath.Join(home, "web.token")))
	if !strings.Contains(out, filepath.Join(home, "web.token")) || !strings.Contains(out, "http://127.0.0.1:"+port+"/#token="+token) {
		t.Fatalf("gpm web printed %q: want the token file and the link with the token", out)
	}
	local := "http://127.0.0.1:" + port
	waitFor(t, 10*time.Second, func() bool { c, _ := webGet(http.DefaultClient, local+"/api/version", ""); return c == 200 }, "the API on loopback")
	if ip := nonLoopbackIP(); ip != nil {
		url := "http://" + net.JoinHostPort(ip.String(), port) + "/api/processes"
		if c, body := webGet(http.DefaultClient, url, ""); c != http.StatusUnauthorized {
			t.Errorf("GET %s without a token on a public address: %d %s, want 401", url, c, body)
		}
		if c, body := webGet(http.DefaultClient, url, token); c != http.StatusOK {
			t.Errorf("GET %s with the token: %d %s", url, c, body)
		}
	} else {
		t.Log("no address but loopback: the public address's own check is not run")
	}

	// TLS with a certificate made here.
	dir := t.TempDir()
	certFile, keyFile := selfSigned(t, dir)
	tlsPort := webPort(t)
	out, stderr, code = run(t, home, "web", "--public", "0.0.0.0:"+tlsPort, "--cert", certFile, "--key", keyFile)
	if code != 0 || strings.Contains(stderr, "clear text") || !strings.Contains(out, "https://127.0.0.1:"+tlsPort+"/") {
		t.Fatalf("gpm web with TLS: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	tc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	waitFor(t, 10*time.Second, func() bool { c, _ := webGet(tc, "https://127.0.0.1:"+tlsPort+"/api/version", token); return c == 200 }, "the API over TLS")
	if c, _ := webGet(http.DefaultClient, "http://127.0.0.1:"+tlsPort+"/api/version", ""); c == 200 {
		t.Errorf("plain HTTP answered on the TLS address")
	}

	// Back to a loopback address; the setting survives the daemon.
	addr := "127.0.0.1:" + webPort(t)
	mustRun(t, home, "web", addr)
	url := "http://" + addr + "/api/version"
	waitFor(t, 10*time.Second, func() bool { c, _ := webGet(http.DefaultClient, url, ""); return c == 200 }, "the API on "+addr)
	mustRun(t, home, "kill")
	if c, _ := webGet(http.DefaultClient, url, ""); c != 0 {
		t.Fatalf("the API answered %d after gpm kill", c)
	}
	mustRun(t, home, "ping")
	waitFor(t, 10*time.Second, func() bool { c, _ := webGet(http.DefaultClient, url, ""); return c == 200 }, "the API after gpm kill and a new daemon")
	if out := mustRun(t, home, "web", "--off"); !strings.Contains(out, "off") {
		t.Errorf("gpm web --off printed %q", out)
	}
	mustRun(t, home, "kill")
	mustRun(t, home, "ping")
	if out := mustRun(t, home, "web", "--status"); !strings.Contains(out, "off") {
		t.Errorf("after --off and a new daemon, gpm web --status printed %q", out)
	}
	if c, _ := webGet(http.DefaultClient, url, ""); c != 0 {
		t.Errorf("the API answered %d after --off and a new daemon", c)
	}
	mustRun(t, home, "kill")
}

func selfSigned(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "gpm-test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile = writeFile(t, dir, "cert.pem", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	keyFile = writeFile(t, dir, "key.pem", string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})))
	return certFile, keyFile
}

// An event stream whose reader never reads, while an app logs about 10,000 lines/s, does not slow `gpm ls`: its
// median time stays within 3x (plus 100 ms for a loaded machine) of the median without that reader; the stream is
// dropped.
func TestWebSlowReaderDoesNotSlowLs(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	addr := "127.0.0.1:" + webPort(t)
	mustRun(t, home, "web", addr)
	// 1,500 lines every 0.1 s, less the cost of the sleeps: about 10,000 lines/s on a busy machine (logged).
	mustRun(t, home, "start", "awk", "--name", "chatty", "--",
		`BEGIN { for (;;) { for (i = 0; i < 1500; i++) print "line " n++ " of a chatty app, about sixty bytes"; fflush(); system("sleep 0.1") } }`)
	waitOnline(t, home, "chatty")
	log := outLog(home, "chatty")
	waitFor(t, 20*time.Second, func() bool { return countLines(t, log) > 10_000 }, "10,000 lines in chatty's log")
	n0, t0 := countLines(t, log), time.Now()

	lsMedian := func() time.Duration {
		var d []time.Duration
		for range 15 {
			start := time.Now()
			mustRun(t, home, "ls")
			d = append(d, time.Since(start))
		}
		slices.Sort(d)
		return d[len(d)/2]
	}
	base := lsMedian()

	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.(*net.TCPConn).SetReadBuffer(4096)
	fmt.Fprintf(conn, "GET /api/events?logs=1&name=chatty HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
	withReader := lsMedian()
	rate := float64(countLines(t, log)-n0) / time.Since(t0).Seconds()
	t.Logf("gpm ls median: %v without a reader, %v with a never-reading event stream; chatty logged %.0f lines/s", base, withReader, rate)
	if limit := 3*base + 100*time.Millisecond; withReader > limit {
		t.Errorf("gpm ls median %v with a never-reading event stream, over 3x %v + 100 ms", withReader, base)
	}
	waitFor(t, 60*time.Second, func() bool {
		_, body := webGet(http.DefaultClient, "http://"+addr+"/metrics", "")
		return strings.Contains(body, "\ngpm_web_event_streams_dropped_total 1")
	}, "the never-reading stream dropped (gpm_web_event_streams_dropped_total 1)")
	mustRun(t, home, "kill")
}

// daemonExe is the program the daemon of home runs, from /proc.
func daemonExe(t *testing.T, home string) string {
	t.Helper()
	pid := strings.TrimSpace(readFile(t, filepath.Join(home, "gpm.pid")))
	exe, err := os.Readlink("/proc/" + pid + "/exe")
	if err != nil {
		t.Fatalf("the daemon's program: %v", err)
	}
	return exe
}

// The daemon runs gpmd, built without the HTTP server, until its API is on: `gpm web` on it saves the setting and
// says the API serves once the daemon restarts; --restart puts the daemon (and its apps) on gpmd-web, which
// serves, and so does `gpm web` alone on a daemon with no process; a new daemon of a home whose API is on runs
// gpmd-web, and gpmd again once it is off; so do gpm run and start --no-daemon.
func TestWebProgram(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	mustRun(t, home, "start", "sleep", "--name", "nap", "--", "600")
	first := waitOnline(t, home, "nap")
	if exe := daemonExe(t, home); exe != gpmdBin {
		t.Fatalf("the first daemon runs %s, want gpmd (%s)", exe, gpmdBin)
	}
	addr := "127.0.0.1:" + webPort(t)
	url := "http://" + addr + "/api/version"
	out, stderr, code := run(t, home, "web", addr)
	if code != 0 || !strings.Contains(out, "once the daemon restarts") || !strings.Contains(stderr, "gpmd-web") {
		t.Fatalf("gpm web on gpmd: exit %d, stdout %q, stderr %q; want the setting saved and a word on the restart", code, out, stderr)
	}
	if c, _ := webGet(http.DefaultClient, url, ""); c != 0 {
		t.Fatalf("gpmd answered HTTP (%d): it has no server", c)
	}
	if p := one(t, home, "nap"); p.PID != first.PID {
		t.Fatalf("gpm web without --restart restarted nap (pid %d -> %d)", first.PID, p.PID)
	}
	// A bad address is refused by gpmd too, before anything restarts.
	if _, stderr, code := run(t, home, "web", "not-an-address", "--restart"); code == 0 || !strings.Contains(stderr, "not-an-address") {
		t.Fatalf("gpm web not-an-address: exit %d, stderr %q; want a refusal", code, stderr)
	}

	// gpmd checks a certificate as PEM (it has no crypto/tls): text that is none is refused, nothing saved.
	junk := writeFile(t, t.TempDir(), "junk.pem", "not a certificate\n")
	if _, stderr, code := run(t, home, "web", addr, "--cert", junk, "--key", junk, "--restart"); code == 0 || !strings.Contains(stderr, "PEM") {
		t.Fatalf("gpm web --cert junk: exit %d, stderr %q; want a refusal naming PEM", code, stderr)
	}
	if cfg := readFile(t, filepath.Join(home, "web.json")); strings.Contains(cfg, "tls") {
		t.Fatalf("a refused certificate changed web.json: %s", cfg)
	}

	out = mustRun(t, home, "web", addr, "--restart")
	if !strings.Contains(out, "resurrected") {
		t.Errorf("gpm web --restart printed %q: want the resurrect's report", out)
	}
	if exe := daemonExe(t, home); exe != gpmdWebBin {
		t.Fatalf("after gpm web --restart the daemon runs %s, want gpmd-web (%s)", exe, gpmdWebBin)
	}
	waitFor(t, 10*time.Second, func() bool { c, _ := webGet(http.DefaultClient, url, ""); return c == 200 }, "the API on gpmd-web")
	waitOnline(t, home, "nap")

	// A new daemon of this home runs gpmd-web; with the API off, gpmd.
	mustRun(t, home, "kill")
	mustRun(t, home, "ping")
	if exe := daemonExe(t, home); exe != gpmdWebBin {
		t.Fatalf("a new daemon with the API on runs %s, want gpmd-web", exe)
	}
	waitFor(t, 10*time.Second, func() bool { c, _ := webGet(http.DefaultClient, url, ""); return c == 200 }, "the API after a new daemon")
	mustRun(t, home, "web", "--off")
	mustRun(t, home, "kill")
	mustRun(t, home, "ping")
	if exe := daemonExe(t, home); exe != gpmdBin {
		t.Fatalf("a new daemon with the API off runs %s, want gpmd", exe)
	}

	// --status and a lone --rotate-token report, even on a daemon with no process: they restart nothing.
	mustRun(t, home, "start", "sleep", "--name", "nap2", "--", "600")
	mustRun(t, home, "web", addr)
	mustRun(t, home, "delete", "nap2")
	for _, args := range [][]string{{"web", "--status"}, {"web", "--rotate-token"}} {
		if out := mustRun(t, home, args...); !strings.Contains(out, "once the daemon restarts") {
			t.Errorf("gpm %s on gpmd printed %q: want the API on once the daemon restarts", strings.Join(args, " "), out)
		}
		if exe := daemonExe(t, home); exe != gpmdBin {
			t.Fatalf("gpm %s moved the daemon to %s", strings.Join(args, " "), exe)
		}
	}

	// A daemon on gpmd with no process at all is moved by gpm web alone: nothing restarts.
	out, stderr, code = run(t, home, "web", addr)
	if code != 0 || strings.Contains(out, "once the daemon restarts") || !strings.Contains(out, "HTTP API on http://"+addr) {
		t.Fatalf("gpm web on an idle gpmd: exit %d, stdout %q, stderr %q; want it serving", code, out, stderr)
	}
	if exe := daemonExe(t, home); exe != gpmdWebBin {
		t.Fatalf("after gpm web on an idle daemon it runs %s, want gpmd-web", exe)
	}
	if c, _ := webGet(http.DefaultClient, url, ""); c != 200 {
		t.Fatalf("the API answered %d after gpm web on an idle daemon", c)
	}

	// gpm run and start --no-daemon (a daemon in the command's own process) in a home whose API is on: gpmd-web,
	// serving; SIGTERM ends them.
	mustRun(t, home, "kill")
	for _, args := range [][]string{{"run", "--no-auto-exit", "sleep", "--", "600"}, {"start", "--no-daemon", "sleep", "--", "600"}} {
		foregroundOnWeb(t, home, url, args...)
	}
}

// foregroundOnWeb runs gpm args, a command with a daemon in its own process, until the API at url answers; checks
// that the process runs gpmd-web; and that it exits after SIGTERM (with its goroutines in the failure if not).
func foregroundOnWeb(t *testing.T, home, url string, args ...string) {
	t.Helper()
	what := "gpm " + strings.Join(args, " ")
	cmd := gpmCmd(context.Background(), home, opts{env: []string{"GOTRACEBACK=all"}}, args...)
	var stderrBuf syncBuffer
	cmd.Stdout, cmd.Stderr = io.Discard, &stderrBuf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	waitFor(t, 10*time.Second, func() bool { c, _ := webGet(http.DefaultClient, url, ""); return c == 200 }, "the API of "+what)
	if exe, err := os.Readlink("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/exe"); err != nil || exe != gpmdWebBin {
		t.Errorf("%s with the API on runs %q (%v), want gpmd-web", what, exe, err)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		exited <- err
		if err != nil {
			t.Errorf("%s after SIGTERM: %v\nstderr:\n%s", what, err, stderrBuf.String())
		}
	case <-time.After(patient(10 * time.Second)):
		cmd.Process.Signal(syscall.SIGQUIT) // its goroutines, on stderr
		time.Sleep(time.Second)
		t.Errorf("%s did not exit after SIGTERM; stderr and goroutines:\n%s", what, stderrBuf.String())
	}
}
