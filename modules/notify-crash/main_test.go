//go:build linux

package main

import (
	"context"
	"encoding/json"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gpmd/gpm/activation/journal"
	"github.com/gpmd/gpm/api"
	"github.com/gpmd/gpm/client"
	"github.com/gpmd/gpm/config"
	"github.com/gpmd/gpm/service"
)

func TestParseSettings(t *testing.T) {
	s, err := parseSettings(`{"webhook":" http://h/x ","journal":"TRUE","lines":"5"}`)
	if err != nil || s != (settings{Webhook: "http://h/x", Journal: true, Lines: 5}) {
		t.Errorf("%+v %v", s, err)
	}
	if s, err := parseSettings(`{"journal":true,"lines":3}`); err != nil || !s.Journal || s.Lines != 3 {
		t.Errorf("JSON values: %+v %v", s, err)
	}
	for _, bad := range []string{`{"lines":"2000"}`, `{"journal":"maybe"}`, `{"webhook":"file:///etc/passwd"}`, `[`} {
		if _, err := parseSettings(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

func TestCrash(t *testing.T) {
	for reason, want := range map[string]bool{
		"exited with code 3":                              true,
		"exited with code 1; autorestart is off":          true,
		"killed by SIGKILL":                               true,
		"exited with code 0":                              false,
		"exited with code 2, which is in stop_exit_codes": true,
		"stopped": false,
		"":        false,
		"exited with code 7; 16 restarts within min_uptime …": true,
	} {
		if _, got := crash(api.Event{Type: api.EventState, Reason: reason}); got != want {
			t.Errorf("%q: crash %v, want %v", reason, got, want)
		}
	}
	r, _ := crash(api.Event{Type: api.EventState, Reason: "exited with code 3"})
	if r.ExitCode == nil || *r.ExitCode != 3 {
		t.Errorf("exit code %v", r.ExitCode)
	}
}

// TestNotifyCrashDaemon: against a real daemon (in this process) and a local HTTP server, a crashing app is
// posted with its exit code and last lines.
func TestNotifyCrashDaemon(t *testing.T) {
	home, err := os.MkdirTemp("", "gpm-nc-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(home)
	d := service.New(service.Options{Home: home, Socket: filepath.Join(home, api.SocketName)})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	dial := func(ctx context.Context) (*client.Client, error) { return client.Dial(ctx, home) }
	var c *client.Client
	for deadline := time.Now().Add(30 * time.Second); ; {
		if c, err = dial(ctx); err == nil {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("daemon: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	defer c.Close()

	posts := make(chan Report, 64)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var rep Report
		if err := json.NewDecoder(r.Body).Decode(&rep); err != nil {
			t.Errorf("post: %v", err)
		}
		select {
		case posts <- rep:
		default:
		}
	}))
	defer srv.Close()
	n := &notifier{home: home, cfg: settings{Webhook: srv.URL, Lines: 20}, http: srv.Client(),
		log: log.New(io.Discard, "", 0), slots: make(chan struct{}, maxInFlight), dialer: dial}
	nctx, ncancel := context.WithCancel(ctx)
	ndone := make(chan error, 1)
	go func() { ndone <- n.run(nctx) }()
	defer func() {
		ncancel()
		<-ndone
	}()

	// The app crashes again and again (the subscription may begin after its first crash): the first post is
	// enough.
	a := config.New()
	a.Name, a.Script, a.Args = "crasher", "sh", []string{"-c", "echo out-line; echo err-line >&2; sleep 0.2; exit 3"}
	a.RestartDelay, a.MinUptime = 300, 1
	if err := a.Normalize(home); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Start(ctx, a); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-posts:
		if r.Name != "crasher" || r.ExitCode == nil || *r.ExitCode != 3 {
			t.Errorf("report %+v", r)
		}
		if j := strings.Join(r.Lines, "\n"); !strings.Contains(j, "out-line") || !strings.Contains(j, "err-line") {
			t.Errorf("lines %q", r.Lines)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("no post within 60 s")
	}
	if _, err := c.Delete(ctx, "crasher"); err != nil {
		t.Fatal(err)
	}
}

// TestJournalReport: a report goes to the journal socket as one native-protocol entry with gpm's fields (a local
// datagram socket stands for journald, which the test machine may not run).
func TestJournalReport(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "journal.sock")
	ln, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	j, err := journal.Dial(sock)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	n := &notifier{jrnl: j, log: log.New(io.Discard, "", 0)}
	code := 3
	if err := n.journal(Report{Name: "api", ID: 4, ExitCode: &code, Reason: "exited with code 3", Lines: []string{"boom"}}); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64<<10)
	ln.SetReadDeadline(time.Now().Add(10 * time.Second))
	k, err := ln.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	got := string(buf[:k])
	for _, want := range []string{"GPM_APP=api\n", "GPM_ID=4\n", "GPM_EXIT_CODE=3\n", "PRIORITY=3\n", "SYSLOG_IDENTIFIER=gpm-notify-crash\n", "boom"} {
		if !strings.Contains(got, want) {
			t.Errorf("entry %q: %q missing", got, want)
		}
	}
}

// TestWebhookNotLogged: a webhook URL is a secret (Slack's, Discord's and most others' carry their token in the
// path or query), so the module's log, kept in its log files, names only its scheme and host: when a post
// succeeds, when the endpoint answers an error and when it cannot be reached.
func TestWebhookNotLogged(t *testing.T) {
	const secret = "T0SECRET/B0SECRET/XXXXsecrettoken"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/fail/") {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	var logged strings.Builder
	for _, hook := range []string{srv.URL + "/ok/" + secret + "?token=" + secret, srv.URL + "/fail/" + secret,
		closed.URL + "/services/" + secret, "https://user:pwSECRET@127.0.0.1:1/x", "http://[::1/" + secret} {
		n := &notifier{cfg: settings{Webhook: hook}, http: srv.Client(), log: log.New(&logged, "", 0)}
		err := n.post(context.Background(), Report{Name: "a", Reason: "exited with code 1"})
		if hook != srv.URL+"/ok/"+secret+"?token="+secret && err == nil {
			t.Errorf("post to %s: no error", hook)
		}
		if err != nil && strings.Contains(err.Error(), "SECRET") {
			t.Errorf("post's error names the webhook's secret: %v", err)
		}
		logged.WriteString(webhookShown(hook) + "\n")
	}
	if _, err := parseSettings(`{"webhook":"ftp://host/` + secret + `"}`); err == nil || strings.Contains(err.Error(), "SECRET") {
		t.Errorf("a webhook that is not http: %v", err)
	}
	if strings.Contains(logged.String(), "SECRET") || strings.Contains(logged.String(), "secret") {
		t.Errorf("the log names the webhook's secret:\n%s", logged.String())
	}
	if !strings.Contains(logged.String(), srv.URL) {
		t.Errorf("the log does not name the webhook's host:\n%s", logged.String())
	}
}
