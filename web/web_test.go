package web_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/gpmd/gpm/api"
	"github.com/gpmd/gpm/config"
	"github.com/gpmd/gpm/service"
	"github.com/gpmd/gpm/web"
	"github.com/gpmd/gpm/web/webconf"
)

// daemon runs a real daemon in a private GPM_HOME until the test ends, and returns it.
func daemon(t *testing.T) *service.Daemon {
	t.Helper()
	home, err := os.MkdirTemp("", "gpm-web-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(home) })
	d := service.New(service.Options{Home: home, Socket: filepath.Join(home, api.SocketName), Version: "test",
		SampleInterval: 200 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("Run did not return within 30 s of its context's end")
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for d.Caller().Call(ctx, api.MethodPing, nil, nil) != nil {
		if time.Now().After(deadline) {
			t.Fatal("the daemon did not answer a ping within 30 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return d
}

// api is a web server of a real daemon on a loopback port, with its token.
type server struct {
	d     *service.Daemon
	srv   *web.Server
	url   string
	token string
}

func serve(t *testing.T) *server {
	t.Helper()
	d := daemon(t)
	token, err := webconf.LoadToken(d.Home(), false)
	if err != nil {
		t.Fatal(err)
	}
	srv := web.New(web.Options{Caller: d.Caller(), Token: token, Version: "test"})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln, nil) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return &server{d: d, srv: srv, url: "http://" + ln.Addr().String(), token: token}
}

func (s *server) start(t *testing.T, name, script string, args ...string) []api.Process {
	t.Helper()
	a := config.New()
	a.Name, a.Script, a.Args = name, script, args
	if err := a.Normalize("/"); err != nil {
		t.Fatal(err)
	}
	var out []api.Process
	if err := s.d.Caller().Call(context.Background(), api.MethodStart, api.StartParams{Apps: []api.StartApp{{App: a}}}, &out); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	t.Cleanup(func() {
		s.d.Caller().Call(context.Background(), api.MethodDelete, api.Targets{Targets: []string{name}}, nil)
	})
	return out
}

// do sends a request: token "" sends none; body nil sends none; ctype "" sends none.
func (s *server) do(t *testing.T, method, path, token, ctype string, body []byte) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, s.url+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// Every action is refused without the token and with a wrong one; GETs on loopback need none; the Host of a
// rebound DNS name, a cross-site GET and a body that is not JSON are refused.
func TestAuth(t *testing.T) {
	s := serve(t)
	s.start(t, "sleeper", "/bin/sleep", "600")
	wrong := strings.Repeat("0", 64)
	actions := []string{"/api/processes/sleeper/start", "/api/processes/sleeper/stop", "/api/processes/sleeper/restart",
		"/api/processes/sleeper/reload", "/api/processes/sleeper/delete", "/api/processes/sleeper/reset",
		"/api/processes/sleeper/signal", "/api/processes", "/api/save"}
	for _, path := range actions {
		for _, token := range []string{"", wrong, s.token[:63]} {
			code, body := s.do(t, "POST", path, token, "application/json", []byte(`{"signal":"SIGUSR2"}`))
			if code != http.StatusUnauthorized {
				t.Errorf("POST %s with token %q: %d %s, want 401", path, token, code, body)
			}
			var e web.ErrorBody
			if json.Unmarshal(body, &e) != nil || e.Error == nil || e.Error.Code == "" || e.Error.Message == "" {
				t.Errorf("POST %s: error body %s, want {\"error\":{\"code\",\"message\"}}", path, body)
			}
		}
	}
	var list []api.Process
	if err := s.d.Caller().Call(context.Background(), api.MethodList, nil, &list); err != nil || len(list) != 1 || list[0].Restarts != 0 || list[0].Status != api.StatusOnline {
		t.Fatalf("after refused actions the app changed: %v %+v", err, list)
	}
	for _, path := range []string{"/api/processes", "/api/processes/sleeper", "/api/system", "/api/version", "/metrics", "/api/openapi.json"} {
		if code, body := s.do(t, "GET", path, "", "", nil); code != http.StatusOK {
			t.Errorf("GET %s on loopback without a token: %d %s", path, code, body)
		}
		if code, _ := s.do(t, "GET", path, wrong, "", nil); code != http.StatusUnauthorized {
			t.Errorf("GET %s with a wrong token: %d, want 401", path, code)
		}
	}
	if code, body := s.do(t, "POST", "/api/processes/sleeper/restart", s.token, "text/plain", []byte(`{}`)); code != http.StatusUnsupportedMediaType {
		t.Errorf("POST with text/plain: %d %s, want 415", code, body)
	}
	if code, body := s.do(t, "POST", "/api/processes/sleeper/restart", s.token, "application/x-www-form-urlencoded", []byte(`a=b`)); code != http.StatusUnsupportedMediaType {
		t.Errorf("POST a form: %d %s, want 415", code, body)
	}
	req, _ := http.NewRequest("GET", s.url+"/api/processes", nil)
	req.Host = "attacker.example:9615"
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("GET with a rebound Host: %v %v, want 403", err, resp)
	} else if resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("an answer carries Access-Control-Allow-Origin")
	}
	req, _ = http.NewRequest("GET", s.url+"/api/processes", nil)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("a cross-site GET without a token: %v %v, want 403", err, resp)
	}
	// The same GET arriving on an address that is not loopback needs the token.
	r := httptest.NewRequest("GET", "/api/processes", nil)
	r = r.WithContext(context.WithValue(r.Context(), http.LocalAddrContextKey, &net.TCPAddr{IP: net.ParseIP("192.0.2.10"), Port: 9615}))
	rec := httptest.NewRecorder()
	s.srv.Handler().ServeHTTP(rec, r)
	if rec.Code != http.StatusUnauthorized {
		t.Errorf("GET on a public address without a token: %d %s, want 401", rec.Code, rec.Body)
	}
	r.Header.Set("Authorization", "Bearer "+s.token)
	rec = httptest.NewRecorder()
	s.srv.Handler().ServeHTTP(rec, r)
	if rec.Code != http.StatusOK {
		t.Errorf("GET on a public address with the token: %d %s", rec.Code, rec.Body)
	}
	// With the token, actions work, and errors carry the daemon's message.
	code, body := s.do(t, "POST", "/api/processes/sleeper/restart", s.token, "application/json", nil)
	if code != http.StatusOK {
		t.Fatalf("restart with the token: %d %s", code, body)
	}
	code, body = s.do(t, "POST", "/api/processes/nosuch/stop", s.token, "application/json", []byte(`{}`))
	if code != http.StatusNotFound || !strings.Contains(string(body), "nosuch") {
		t.Errorf("stop of an unknown app: %d %s, want 404 naming it", code, body)
	}
	code, body = s.do(t, "POST", "/api/processes/sleeper/signal", s.token, "application/json", []byte(`{"signal":"SIGNOPE"}`))
	if code != http.StatusBadRequest && code != http.StatusInternalServerError {
		t.Errorf("a bad signal: %d %s", code, body)
	}
	code, body = s.do(t, "POST", "/api/processes/sleeper/restart", s.token, "application/json", []byte(`{"bogus":1}`))
	if code != http.StatusBadRequest || !strings.Contains(string(body), "bogus") {
		t.Errorf("an unknown field: %d %s, want 400 naming it", code, body)
	}
	code, body = s.do(t, "POST", "/api/processes/sleeper/restart", s.token, "application/json", bytes.Repeat([]byte(" "), web.MaxActionBody+1))
	if code != http.StatusRequestEntityTooLarge || !strings.Contains(string(body), "MaxActionBody") {
		t.Errorf("a body over MaxActionBody: %d %s, want 413 naming the limit", code, body)
	}
}

// A process file posted to /api/processes starts its apps; an error names the field.
func TestStartFile(t *testing.T) {
	s := serve(t)
	code, body := s.do(t, "POST", "/api/processes", s.token, "application/json",
		[]byte(`{"apps":[{"name":"posted","script":"/bin/sleep","args":["600"],"instances":2}]}`))
	if code != http.StatusOK {
		t.Fatalf("POST /api/processes: %d %s", code, body)
	}
	t.Cleanup(func() {
		s.d.Caller().Call(context.Background(), api.MethodDelete, api.Targets{Targets: []string{"posted"}}, nil)
	})
	var res struct{ Processes []api.Process }
	if err := json.Unmarshal(body, &res); err != nil || len(res.Processes) != 2 {
		t.Fatalf("answer %s: %v", body, err)
	}
	code, body = s.do(t, "GET", "/api/processes/posted", "", "", nil)
	var got []api.Process
	if code != http.StatusOK || json.Unmarshal(body, &got) != nil || len(got) != 2 {
		t.Fatalf("GET /api/processes/posted: %d %s", code, body)
	}
	code, body = s.do(t, "GET", "/api/processes/"+strconv.Itoa(got[1].ID), "", "", nil)
	if code != http.StatusOK || json.Unmarshal(body, &got) != nil || len(got) != 1 {
		t.Fatalf("GET /api/processes/ID: %d %s", code, body)
	}
	code, body = s.do(t, "POST", "/api/processes", s.token, "application/json",
		[]byte(`{"apps":[{"name":"bad","script":"/bin/sleep","instances":"many"}]}`))
	if code != http.StatusBadRequest || !strings.Contains(string(body), "instances") {
		t.Errorf("a bad field: %d %s, want 400 naming instances", code, body)
	}
	code, body = s.do(t, "POST", "/api/save", s.token, "application/json", []byte(`{}`))
	if code != http.StatusOK || !strings.Contains(string(body), "dump.json") {
		t.Errorf("POST /api/save: %d %s", code, body)
	}
}

// /metrics parses as the Prometheus text format, passes promlint, and has every family for every app.
func TestMetrics(t *testing.T) {
	s := serve(t)
	const apps = 5
	for i := range apps {
		s.start(t, fmt.Sprintf("app%d", i), "/bin/sleep", "600")
	}
	resp, err := http.Get(s.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("Content-Type %q, want the text format 0.0.4", ct)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, body)
	}
	problems, err := promlint.New(bytes.NewReader(body)).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
	perApp := map[string]int{"gpm_process_up": 1, "gpm_process_status": 6, "gpm_process_ready": 1,
		"gpm_process_cpu_seconds_total": 1, "gpm_process_memory_bytes": 1, "gpm_process_restarts_total": 1,
		"gpm_process_unstable_restarts_total": 1, "gpm_process_start_time_seconds": 1}
	for name, n := range perApp {
		f := fams[name]
		if f == nil {
			t.Errorf("no %s", name)
			continue
		}
		seen := map[string]int{}
		for _, m := range f.Metric {
			labels := map[string]string{}
			for _, l := range m.Label {
				labels[l.GetName()] = l.GetValue()
			}
			for _, l := range []string{"name", "namespace", "id", "instance"} {
				if _, ok := labels[l]; !ok {
					t.Errorf("%s: no label %s", name, l)
				}
			}
			seen[labels["name"]]++
		}
		for i := range apps {
			if app := fmt.Sprintf("app%d", i); seen[app] != n {
				t.Errorf("%s: %d series for %s, want %d", name, seen[app], app, n)
			}
		}
	}
	for _, name := range []string{"gpm_processes", "go_goroutines", "process_resident_memory_bytes", "process_cpu_seconds_total",
		"gpm_events_dropped_total", "gpm_web_event_streams_dropped_total", "gpm_control_connections", "gpm_event_subscribers"} {
		if fams[name] == nil {
			t.Errorf("no %s", name)
		}
	}
	if v := fams["gpm_processes"].GetMetric()[0].GetGauge().GetValue(); v != apps {
		t.Errorf("gpm_processes %v, want %d", v, apps)
	}
}

// sse reads one event stream.
type sse struct {
	resp *http.Response
	sc   *bufio.Scanner
}

type sseEvent struct {
	id  string
	typ string
	e   api.Event
}

func openSSE(t *testing.T, url, lastID string) *sse {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("GET %s: %s %s", url, resp.Status, resp.Header.Get("Content-Type"))
	}
	t.Cleanup(func() { resp.Body.Close() })
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	return &sse{resp: resp, sc: sc}
}

// next returns the next event (comments and retry skipped); it fails the test at the end of the stream.
func (s *sse) next(t *testing.T) sseEvent {
	t.Helper()
	var ev sseEvent
	for s.sc.Scan() {
		line := s.sc.Text()
		switch {
		case line == "" && ev.typ != "":
			return ev
		case strings.HasPrefix(line, "id: "):
			ev.id = line[4:]
		case strings.HasPrefix(line, "event: "):
			ev.typ = line[7:]
		case strings.HasPrefix(line, "data: "):
			if err := json.Unmarshal([]byte(line[6:]), &ev.e); err != nil {
				t.Fatalf("data %s: %v", line, err)
			}
		}
	}
	t.Fatalf("the stream ended: %v", s.sc.Err())
	return ev
}

// Events carry their Seq as the SSE id; a stream opened with Last-Event-ID gets what followed it, in order; one
// from before the kept events (or another run of the daemon) gets a "lost" event first.
func TestEventsResume(t *testing.T) {
	s := serve(t)
	first := openSSE(t, s.url+"/api/events", "")
	s.start(t, "sleeper", "/bin/sleep", "600")
	var ids []string
	deadline := time.Now().Add(60 * time.Second)
	for len(ids) < 4 && time.Now().Before(deadline) {
		ev := first.next(t)
		if ev.e.Seq == 0 || ev.id != strconv.FormatUint(ev.e.Seq, 10) {
			t.Fatalf("event %+v: id %q, want its seq", ev.e, ev.id)
		}
		if ev.typ == api.EventState && len(ids) == 0 {
			// Some state changes to resume over.
			go s.d.Caller().Call(context.Background(), api.MethodRestart, api.RestartParams{Targets: []string{"sleeper"}}, nil)
		}
		ids = append(ids, ev.id)
	}
	if len(ids) < 4 {
		t.Fatalf("only %d events within 60 s", len(ids))
	}
	resumed := openSSE(t, s.url+"/api/events", ids[0])
	for _, want := range ids[1:] {
		ev := resumed.next(t)
		if ev.typ == web.EventLost {
			t.Fatalf("resume from %s: lost (%s)", ids[0], ev.e.Reason)
		}
		if ev.id != want {
			t.Fatalf("resume from %s: event %s, want %s", ids[0], ev.id, want)
		}
	}
	future := openSSE(t, s.url+"/api/events", "999999999")
	if ev := future.next(t); ev.typ != web.EventLost {
		t.Errorf("resume from an id this daemon never gave: %s, want %s first", ev.typ, web.EventLost)
	}

	// Log lines push past web.RingLogBytes: a resume from before them is told that events were lost.
	logs := openSSE(t, s.url+"/api/events?logs=1&name=chatty", "")
	s.start(t, "chatty", "/bin/sh", "-c", `i=0; while :; do echo "line $i $i $i $i $i $i $i $i $i $i $i $i $i $i $i"; i=$((i+1)); done`)
	var firstLog string
	for firstLog == "" {
		if ev := logs.next(t); ev.typ == api.EventLog {
			if ev.e.Name != "chatty" {
				t.Fatalf("log line of %s on a stream of chatty's", ev.e.Name)
			}
			firstLog = ev.id
		}
	}
	// Each line costs ~300 bytes of the ring: 4 x RingLogBytes/300 lines push the first out.
	for n := 0; n < 4*web.RingLogBytes/300; {
		if ev := logs.next(t); ev.typ == api.EventLog {
			n++
		}
	}
	old := openSSE(t, s.url+"/api/events?logs=1&name=chatty", firstLog)
	if ev := old.next(t); ev.typ != web.EventLost {
		t.Errorf("resume from a log line pushed out of the ring: %s, want %s first", ev.typ, web.EventLost)
	}
}

// A stream whose reader never reads is dropped (a "closed" event, counted in /metrics), and the other streams and
// the API go on.
func TestSlowReaderDropped(t *testing.T) {
	s := serve(t)
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetReadBuffer(4096) // fills sooner
	}
	fmt.Fprintf(conn, "GET /api/events?logs=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
	s.start(t, "chatty", "/bin/sh", "-c", `while :; do echo "a line of a chatty app, long enough to fill buffers quickly"; done`)
	deadline := time.Now().Add(120 * time.Second)
	for {
		_, body := s.do(t, "GET", "/metrics", "", "", nil)
		if bytes.Contains(body, []byte("\ngpm_web_event_streams_dropped_total 1")) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the never-reading stream was not dropped within 120 s:\n%s", body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if code, body := s.do(t, "GET", "/api/processes", "", "", nil); code != http.StatusOK {
		t.Fatalf("GET /api/processes after the drop: %d %s", code, body)
	}
}

// The logs endpoint answers the last lines of the target's files.
func TestLogs(t *testing.T) {
	s := serve(t)
	s.start(t, "talker", "/bin/sh", "-c", `for i in 1 2 3 4 5; do echo "hello $i"; done; exec sleep 600`)
	deadline := time.Now().Add(60 * time.Second)
	for {
		code, body := s.do(t, "GET", "/api/processes/talker/logs?lines=3", "", "", nil)
		var evs []api.Event
		if code != http.StatusOK || json.Unmarshal(body, &evs) != nil {
			t.Fatalf("logs: %d %s", code, body)
		}
		if len(evs) == 3 && evs[2].Line == "hello 5" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("logs: %s, want the last 3 of 5 lines", body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code, body := s.do(t, "GET", fmt.Sprintf("/api/processes/talker/logs?lines=%d", web.MaxLogLines+1), "", "", nil); code != http.StatusRequestEntityTooLarge {
		t.Errorf("lines over the limit: %d %s, want 413", code, body)
	}
}

// docs/openapi.json is the file served at /api/openapi.json, and it is JSON that names every route.
func TestOpenAPIDocs(t *testing.T) {
	docs, err := os.ReadFile("../docs/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(docs, web.OpenAPI) {
		t.Fatalf("docs/openapi.json differs from web/openapi.json: copy it (cp web/openapi.json docs/)")
	}
	var doc struct {
		OpenAPI string                     `json:"openapi"`
		Paths   map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(web.OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/api/processes", "/api/processes/{target}", "/api/processes/{target}/logs",
		"/api/processes/{target}/{action}", "/api/system", "/api/version", "/api/events", "/api/save", "/metrics", "/api/openapi.json"} {
		if _, ok := doc.Paths[p]; !ok {
			t.Errorf("openapi.json has no path %s", p)
		}
	}
}

// BenchmarkMetrics100 scrapes /metrics of a daemon with 100 apps (bench/web.sh measures it over HTTP with curl).
func BenchmarkMetrics100(b *testing.B) {
	home := b.TempDir()
	d := service.New(service.Options{Home: home, Socket: filepath.Join(home, api.SocketName), Version: "bench"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	defer func() { cancel(); <-done }()
	for d.Caller().Call(ctx, api.MethodPing, nil, nil) != nil {
		time.Sleep(20 * time.Millisecond)
	}
	var apps []api.StartApp
	for i := range 100 {
		a := config.New()
		a.Name, a.Script, a.Args = fmt.Sprintf("s%d", i), "/bin/sleep", []string{"600"}
		if err := a.Normalize("/"); err != nil {
			b.Fatal(err)
		}
		apps = append(apps, api.StartApp{App: a})
	}
	if err := d.Caller().Call(ctx, api.MethodStart, api.StartParams{Apps: apps}, nil); err != nil {
		b.Fatal(err)
	}
	defer d.Caller().Call(context.Background(), api.MethodDelete, api.Targets{Targets: []string{"all"}}, nil)
	srv := web.New(web.Options{Caller: d.Caller(), Version: "bench"})
	h := srv.Handler()
	b.ResetTimer()
	for b.Loop() {
		r := httptest.NewRequest("GET", "http://127.0.0.1/metrics", nil)
		r = r.WithContext(context.WithValue(r.Context(), http.LocalAddrContextKey, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code != 200 {
			b.Fatalf("%d %s", rec.Code, rec.Body)
		}
	}
}

// Serve returns the listener's error (here: closed under it) without waiting for its context.
func TestServeListenerError(t *testing.T) {
	d := daemon(t)
	srv := web.New(web.Options{Caller: d.Caller()})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(context.Background(), ln, nil) }()
	ln.Close()
	select {
	case err := <-done:
		if err == nil {
			t.Fatalf("Serve on a closed listener returned nil")
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("Serve did not return within 30 s of its listener's close")
	}
}

// An app's env is its secrets (/proc/PID/environ is its owner's alone): a GET without a token, which any local user
// can send to loopback, lists the processes without it; with the token it is there.
func TestEnvNeedsToken(t *testing.T) {
	s := serve(t)
	a := config.New()
	a.Name, a.Script, a.Args = "secretive", "/bin/sleep", []string{"600"}
	a.Env = map[string]string{"DB_PASSWORD": "hunter2"}
	if err := a.Normalize("/"); err != nil {
		t.Fatal(err)
	}
	if err := s.d.Caller().Call(context.Background(), api.MethodStart, api.StartParams{Apps: []api.StartApp{{App: a}}}, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.d.Caller().Call(context.Background(), api.MethodDelete, api.Targets{Targets: []string{"secretive"}}, nil)
	})
	for _, path := range []string{"/api/processes", "/api/processes/secretive", "/api/processes/0"} {
		code, body := s.do(t, "GET", path, "", "", nil)
		if code != http.StatusOK {
			t.Fatalf("GET %s without a token: %d %s", path, code, body)
		}
		if bytes.Contains(body, []byte("hunter2")) || bytes.Contains(body, []byte("DB_PASSWORD")) {
			t.Errorf("GET %s without a token shows the app's env: %s", path, body)
		}
		var list []api.Process
		if err := json.Unmarshal(body, &list); err != nil || len(list) != 1 || list[0].Name != "secretive" {
			t.Errorf("GET %s without a token: %v %s, want the process", path, err, body)
		}
		code, body = s.do(t, "GET", path, s.token, "", nil)
		if code != http.StatusOK || !bytes.Contains(body, []byte(`"DB_PASSWORD":"hunter2"`)) {
			t.Errorf("GET %s with the token: %d %s, want the app's env", path, code, body)
		}
	}
}

// Connections are bounded: with web.MaxConnections open (idle ones count: a client that opens them and sends
// nothing), one more is answered 503 naming the limit and closed; once one closes, requests are served again.
func TestConnectionLimit(t *testing.T) {
	s := serve(t)
	addr := strings.TrimPrefix(s.url, "http://")
	var conns []net.Conn
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	for range web.MaxConnections {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	// The kernel hands connections to accept in the order they came: this one is over the limit.
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	fmt.Fprintf(c, "GET /api/version HTTP/1.1\r\nHost: localhost\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("a connection over the limit: %v, want a 503", err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "MaxConnections") {
		t.Fatalf("a connection over the limit: %d %s, want 503 naming web.MaxConnections", resp.StatusCode, body)
	}
	conns[0].Close()
	conns = conns[1:]
	deadline := time.Now().Add(30 * time.Second)
	for {
		req, _ := http.NewRequest("GET", s.url+"/api/version", nil)
		req.Close = true
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("after a connection closed, a request still fails: %v %v", err, resp)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// The logs endpoint holds its answer until every line is read: the lines asked for are bounded in bytes too
// (web.MaxLogsAnswer), not only in number, so that a GET (no token needed on loopback) of ?lines=100000 of long
// lines, or of every app's, cannot make the daemon hold gigabytes. Past it the answer is 413 naming the limit.
func TestLogsAnswerLimit(t *testing.T) {
	s := serve(t)
	lines := web.MaxLogsAnswer/200 + 10000 // 200-byte lines, well over the limit in all
	procs := s.start(t, "chunky", "/bin/sh", "-c", fmt.Sprintf(`head -c %d /dev/zero | tr '\0' a | fold -w 199; echo; exec sleep 600`, lines*199))
	want := int64(lines * 200)
	deadline := time.Now().Add(60 * time.Second)
	for {
		st, err := os.Stat(procs[0].OutLog)
		if err == nil && st.Size() >= want {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the app's log did not reach %d bytes within 60 s: %v %v", want, st, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	code, body := s.do(t, "GET", fmt.Sprintf("/api/processes/chunky/logs?lines=%d", lines), "", "", nil)
	if code != http.StatusRequestEntityTooLarge || !strings.Contains(string(body), "MaxLogsAnswer") {
		if len(body) > 300 {
			body = append(body[:300], "..."...)
		}
		t.Errorf("logs of %d lines of 200 bytes: %d %s, want 413 naming web.MaxLogsAnswer", lines, code, body)
	}
	code, body = s.do(t, "GET", "/api/processes/chunky/logs?lines=100", "", "", nil)
	var evs []api.Event
	if err := json.Unmarshal(body, &evs); code != http.StatusOK || err != nil || len(evs) != 100 {
		t.Errorf("logs of 100 lines: %d %v, %d lines", code, err, len(evs))
	}
}

// A stream opened with a Last-Event-ID whose reader never reads is closed within the write timeout, replay and all
// (the replay of the ring, up to web.RingLogBytes of log lines, was written before any write deadline was set: a
// reader that never read held the stream's goroutine, and its connection, for ever). Over a unix socket, whose
// buffer (net.core.wmem_default) is smaller than the replay; TCP on loopback grows its buffers to hold it.
func TestReplayToNonReader(t *testing.T) {
	s := serve(t)
	sock := filepath.Join(t.TempDir(), "web.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := web.New(web.Options{Caller: s.d.Caller(), Token: s.token, Version: "test"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln, nil) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}

	// The stream that sees the lines is on the same server, whose ring keeps them while a stream asks for logs.
	resp, err := hc.Get("http://localhost/api/events?logs=1&name=chatty")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	logs := &sse{resp: resp, sc: sc}
	s.start(t, "chatty", "/bin/sh", "-c", `l=$(printf '%4000s' | tr ' ' x); i=0; while [ $i -lt 100 ]; do echo "$i $l"; i=$((i+1)); sleep 0.01; done; exec sleep 600`)
	var first string
	// 100 lines of 4 KB, all kept by the ring (web.RingLogBytes): a replay of 400 KB, twice the socket's buffer.
	// One at a time: a burst would be over what the daemon queues for the API's subscription, and lost.
	for n := 0; n < 100; {
		if ev := logs.next(t); ev.typ == api.EventLog {
			if first == "" {
				first = ev.id
			}
			n++
		}
	}
	streams := func() string {
		resp, err := hc.Get("http://localhost/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, l := range strings.Split(string(body), "\n") {
			if v, ok := strings.CutPrefix(l, "gpm_web_event_streams "); ok {
				return v
			}
		}
		t.Fatalf("no gpm_web_event_streams in /metrics:\n%s", body)
		return ""
	}
	waitStreams := func(want string, within time.Duration) {
		t.Helper()
		deadline := time.Now().Add(within)
		for streams() != want {
			if time.Now().After(deadline) {
				t.Fatalf("gpm_web_event_streams is %s after %v, want %s", streams(), within, want)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	resp.Body.Close() // the ring keeps the lines a while after (logLinger), for a resume
	waitStreams("0", 30*time.Second)

	conn, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /api/events?logs=1&name=chatty HTTP/1.1\r\nHost: localhost\r\nLast-Event-ID: %s\r\n\r\n", first)
	waitStreams("1", 30*time.Second)
	// The write timeout is 10 s. (An idle stream whose reader does not read also ends when a keepalive, every 15 s,
	// no longer fits: the replay is what must not wait for ever.)
	waitStreams("0", 60*time.Second)
}
