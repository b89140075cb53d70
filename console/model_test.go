package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/gpmd/gpm/api"
	"github.com/gpmd/gpm/console/snapshot"
)

// fakeConn stands in for the daemon's socket in the model's unit tests: it answers list from a table, tails from
// canned lines, and records the other calls, so that a test can check which call a key makes with which
// parameters. The real daemon is driven by e2e/monit_test.go.
type fakeConn struct {
	mu     sync.Mutex
	procs  []api.Process
	tail   map[string][]string // logs --nostream, by target
	calls  []call
	events []api.Event                          // the subscription's, then it ends
	stream func(fn func(api.Event) error) error // overrides events when set
}

type call struct {
	method string
	params string // JSON
}

func (f *fakeConn) Call(ctx context.Context, method string, params, result any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if method == api.MethodList {
		b, _ := json.Marshal(f.procs)
		return json.Unmarshal(b, result)
	}
	b, _ := json.Marshal(params)
	f.calls = append(f.calls, call{method, string(b)})
	return nil
}

func (f *fakeConn) Stream(ctx context.Context, method string, params any, fn func(api.Event) error) error {
	if method == api.MethodLogs {
		lp := params.(api.LogsParams)
		for _, l := range f.tail[lp.Targets[0]] {
			fn(api.Event{Type: api.EventLog, Line: l})
		}
		return nil
	}
	if f.stream != nil {
		return f.stream(fn)
	}
	for _, e := range f.events {
		if err := fn(e); err != nil {
			return err
		}
	}
	return errors.New("stream ended")
}

func (f *fakeConn) Close() error { return nil }

func (f *fakeConn) recorded() []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]call(nil), f.calls...)
}

// run executes cmd and feeds what it returns back into the model, as bubbletea does, batches included. Ticks
// (the relist and tail delays) run too: they are short.
func run(t *testing.T, m *Model, cmd tea.Cmd) {
	t.Helper()
	if cmd == nil {
		return
	}
	switch msg := cmd().(type) {
	case nil:
	case tea.BatchMsg:
		for _, c := range msg {
			run(t, m, c)
		}
	case tea.QuitMsg:
	default:
		_, next := m.Update(msg)
		run(t, m, next)
	}
}

func send(t *testing.T, m *Model, msg tea.Msg) {
	t.Helper()
	_, cmd := m.Update(msg)
	run(t, m, cmd)
}

func press(t *testing.T, m *Model, keys ...string) {
	t.Helper()
	for _, k := range keys {
		var msg tea.KeyPressMsg
		switch k {
		case "enter":
			msg = tea.KeyPressMsg{Code: tea.KeyEnter}
		case "esc":
			msg = tea.KeyPressMsg{Code: tea.KeyEscape}
		case "down":
			msg = tea.KeyPressMsg{Code: tea.KeyDown}
		case "up":
			msg = tea.KeyPressMsg{Code: tea.KeyUp}
		case "backspace":
			msg = tea.KeyPressMsg{Code: tea.KeyBackspace}
		case "ctrl+c":
			msg = tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl}
		default:
			msg = tea.KeyPressMsg{Code: []rune(k)[0], Text: k}
		}
		send(t, m, msg)
	}
}

var t0 = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)

func proc(id int, name, ns, status string, pid int) api.Process {
	started := t0.Add(-90 * time.Second)
	return api.Process{ID: id, Name: name, Namespace: ns, Status: status, PID: pid, StartedAt: &started, Mode: "fork"}
}

// newTest returns a model connected to a fake daemon with three processes, at size w x h.
func newTest(t *testing.T, w, h int) (*Model, *fakeConn) {
	t.Helper()
	f := &fakeConn{
		procs: []api.Process{
			proc(0, "api", "web", api.StatusOnline, 100),
			proc(1, "worker", "jobs", api.StatusOnline, 101),
			proc(2, "cron", "jobs", api.StatusStopped, 0),
		},
		tail: map[string][]string{"0": {"api line 1", "api line 2"}, "1": {"worker line"}},
	}
	var sel atomic.Int64
	m := NewModel(t.Context(), &sel)
	m.readHost = func() (snapshot.Host, error) {
		return snapshot.Host{Load: [3]float64{0.5, 0.25, 0.125}, CPUs: 4, MemTotal: 8 << 30, MemUsed: 3 << 30}, nil
	}
	m.host, _ = m.readHost()
	m.now = func() time.Time { return t0 }
	send(t, m, tea.WindowSizeMsg{Width: w, Height: h})
	send(t, m, connectedMsg{gen: 1, conn: f})
	// The first event lists again (the subscription is in place from then on): let it be a quiet one, so that the
	// fake's list (all figures zero) does not undo a test's first sample.
	send(t, m, eventMsg{gen: 1, ev: api.Event{Type: api.EventLog, ID: 99, Line: "-"}})
	return m, f
}

func screen(m *Model) string { return ansi.Strip(m.Render()) }

func lineOf(t *testing.T, s, substr string) string {
	t.Helper()
	for l := range strings.Lines(s) {
		if strings.Contains(l, substr) {
			return l
		}
	}
	t.Fatalf("no line with %q in\n%s", substr, s)
	return ""
}

func sample(samples ...api.Sample) eventMsg {
	return eventMsg{gen: 1, ev: api.Event{Type: api.EventSample, Time: t0, Samples: samples}}
}

func TestModelListAndSamples(t *testing.T) {
	m, _ := newTest(t, 120, 40)
	s := screen(m)
	for _, want := range []string{"api", "worker", "cron", "load 0.50 0.25 0.12 · 4 cpus · mem 3.0G/8.0G", "3 procs", "stopped"} {
		if !strings.Contains(s, want) {
			t.Errorf("screen lacks %q:\n%s", want, s)
		}
	}
	for i := range 5 {
		send(t, m, sample(api.Sample{ID: 0, PID: 100, CPU: float64(10 * i), Memory: uint64(10+i) << 20},
			api.Sample{ID: 1, PID: 101, CPU: 1.5, Memory: 5 << 20}))
	}
	s = screen(m)
	l := lineOf(t, s, "worker")
	if !strings.Contains(l, "1.5%") || !strings.Contains(l, "5.0M") || !strings.Contains(l, "1m") {
		t.Errorf("worker's row after samples: %q", l)
	}
	if !strings.Contains(lineOf(t, s, " api "), "40.0%") || !strings.Contains(lineOf(t, s, " api "), "▁▃▅▆█") {
		t.Errorf("api's row lacks its cpu and its rising sparkline: %q", lineOf(t, s, " api "))
	}
	if got := len(m.rows[2].cpu); got != 5 {
		t.Errorf("the stopped process has %d history points, want 5 (zeros: one time axis for all)", got)
	}
}

func TestModelStateEventShowsAtOnce(t *testing.T) {
	m, f := newTest(t, 120, 40)
	f.procs[1].Status, f.procs[1].PID, f.procs[1].Restarts = api.StatusWaiting, 0, 1
	_, cmd := m.Update(eventMsg{gen: 1, ev: api.Event{Type: api.EventState, ID: 1, Status: api.StatusErrored, Reason: "exit code 3"}})
	// Before any list: the event alone.
	if l := lineOf(t, screen(m), "worker"); !strings.Contains(l, "errored") {
		t.Errorf("worker's row right after the event: %q", l)
	}
	run(t, m, cmd) // the list after the burst brings the restart count
	if l := lineOf(t, screen(m), "worker"); !strings.Contains(l, "waiting") || !strings.Contains(l, "  1 ") {
		t.Errorf("worker's row after the relist: %q", l)
	}
}

func TestModelNewProcessIsListed(t *testing.T) {
	m, f := newTest(t, 120, 40)
	f.procs = append(f.procs, proc(3, "api", "web", api.StatusOnline, 103))
	send(t, m, eventMsg{gen: 1, ev: api.Event{Type: api.EventState, ID: 3, Name: "api", Status: api.StatusOnline, PID: 103}})
	if len(m.rows) != 4 || !strings.Contains(screen(m), "4 procs") {
		t.Errorf("after a state event of an unknown process: %d rows\n%s", len(m.rows), screen(m))
	}
}

func TestModelIgnoresOldConnection(t *testing.T) {
	m, f := newTest(t, 120, 40)
	send(t, m, disconnectedMsg{gen: 1, err: errors.New("connection reset")})
	if !strings.Contains(screen(m), "no daemon: connection reset") {
		t.Errorf("lost daemon not shown:\n%s", screen(m))
	}
	send(t, m, connectedMsg{gen: 2, conn: f})
	send(t, m, eventMsg{gen: 1, ev: api.Event{Type: api.EventState, ID: 0, Status: api.StatusErrored}})
	if strings.Contains(screen(m), "errored") {
		t.Errorf("an event of the old connection was applied")
	}
	if strings.Contains(screen(m), "no daemon") {
		t.Errorf("still says no daemon after reconnecting")
	}
	if s := screen(m); !strings.Contains(s, "api line 2") || strings.Contains(s, "reading the log") {
		t.Errorf("the log tail is not read again after reconnecting:\n%s", s)
	}
}

func TestModelKeys(t *testing.T) {
	tests := []struct {
		name   string
		keys   []string
		method string
		params string
	}{
		{"restart", []string{"r"}, api.MethodRestart, `{"targets":["0"]}`},
		{"reload", []string{"R"}, api.MethodReload, `{"targets":["0"]}`},
		{"stop a running one", []string{"s"}, api.MethodStop, `{"targets":["0"]}`},
		{"start a stopped one", []string{"G", "s"}, api.MethodRestart, `{"targets":["2"]}`},
		{"scale up", []string{"+"}, api.MethodScale, `{"name":"api","count":1,"relative":true}`},
		{"scale down", []string{"down", "-"}, api.MethodScale, `{"name":"worker","count":-1,"relative":true}`},
		{"delete confirmed", []string{"d", "y"}, api.MethodDelete, `{"targets":["0"]}`},
		{"delete refused", []string{"d", "n"}, "", ""},
		{"no action in the filter", []string{"/", "r", "esc"}, "", ""},
		{"no action in help", []string{"?", "r"}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, f := newTest(t, 120, 40)
			press(t, m, tt.keys...)
			calls := f.recorded()
			if tt.method == "" {
				if len(calls) != 0 {
					t.Fatalf("calls %v, want none", calls)
				}
				return
			}
			if len(calls) != 1 || calls[0].method != tt.method {
				t.Fatalf("calls %v, want one %s", calls, tt.method)
			}
			var got, want any
			json.Unmarshal([]byte(calls[0].params), &got)
			json.Unmarshal([]byte(tt.params), &want)
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("%s params %s, want %s", tt.method, calls[0].params, tt.params)
			}
			if tt.method != "" && m.failed {
				t.Errorf("status shows a failure: %s", m.status)
			}
		})
	}
}

func TestModelDeleteAsks(t *testing.T) {
	m, _ := newTest(t, 120, 40)
	press(t, m, "d")
	if !strings.Contains(screen(m), "delete api[0]? y/n") {
		t.Errorf("no question:\n%s", screen(m))
	}
}

// TestModelDeleteAsksAboutOne checks that y deletes the process d asked about, even if the selection moved to
// another meanwhile (its row went away).
func TestModelDeleteAsksAboutOne(t *testing.T) {
	m, f := newTest(t, 120, 40)
	press(t, m, "d")
	f.procs = f.procs[1:] // api deleted by someone else: the selection moves to worker
	send(t, m, eventMsg{gen: 1, ev: api.Event{Type: api.EventDropped}})
	press(t, m, "y")
	if calls := f.recorded(); len(calls) != 0 {
		t.Errorf("y after the process went: calls %v, want none", calls)
	}
}

func TestModelQuit(t *testing.T) {
	for _, k := range []string{"q", "ctrl+c"} {
		m, _ := newTest(t, 120, 40)
		msg := tea.KeyPressMsg{Code: 'q', Text: "q"}
		if k == "ctrl+c" {
			msg = tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl}
		}
		_, cmd := m.Update(msg)
		if cmd == nil {
			t.Fatalf("%s: no command", k)
		}
		if _, ok := cmd().(tea.QuitMsg); !ok {
			t.Errorf("%s does not quit", k)
		}
	}
}

func TestModelFilter(t *testing.T) {
	m, _ := newTest(t, 120, 40)
	press(t, m, "/", "j", "o", "b")
	if got := len(m.order); got != 2 {
		t.Errorf("filter jobs (a namespace) shows %d processes, want 2 (worker, cron)", got)
	}
	press(t, m, "backspace", "backspace", "backspace", "a", "p", "enter")
	if got := len(m.order); got != 1 || m.sel().Name != "api" {
		t.Errorf("filter ap shows %d processes, selected %v", got, m.sel())
	}
	if !strings.Contains(screen(m), `filter "ap"`) {
		t.Errorf("the host line does not say the filter:\n%s", screen(m))
	}
	press(t, m, "esc")
	if len(m.order) != 3 {
		t.Errorf("esc left %d processes shown", len(m.order))
	}
}

func TestModelSort(t *testing.T) {
	m, _ := newTest(t, 120, 40)
	send(t, m, sample(api.Sample{ID: 0, CPU: 1, Memory: 30 << 20}, api.Sample{ID: 1, CPU: 50, Memory: 10 << 20}))
	names := func() string {
		var s []string
		for _, id := range m.order {
			s = append(s, m.rows[id].p.Name)
		}
		return strings.Join(s, ",")
	}
	for _, tt := range []struct{ key, want string }{
		{"c", "worker,api,cron"}, {"m", "api,worker,cron"}, {"n", "api,cron,worker"}, {"n", "worker,cron,api"},
		{"i", "api,worker,cron"},
	} {
		press(t, m, tt.key)
		if got := names(); got != tt.want {
			t.Errorf("after %s: %s, want %s", tt.key, got, tt.want)
		}
	}
	// The selection stays on its process when the order changes.
	press(t, m, "down") // worker
	press(t, m, "c")
	if m.sel().Name != "worker" || m.cursor != 0 {
		t.Errorf("selection %s at %d after sorting by cpu, want worker at 0", m.sel().Name, m.cursor)
	}
}

func TestModelLogs(t *testing.T) {
	m, _ := newTest(t, 120, 40)
	s := screen(m)
	if !strings.Contains(s, "logs of api[0]") || !strings.Contains(s, "api line 2") {
		t.Errorf("the log pane lacks api's tail:\n%s", s)
	}
	send(t, m, eventMsg{gen: 1, ev: api.Event{Type: api.EventLog, ID: 0, Line: "live \x1b[31mred\x1b[0m\tline"}})
	send(t, m, eventMsg{gen: 1, ev: api.Event{Type: api.EventLog, ID: 1, Line: "not shown"}})
	s = screen(m)
	if !strings.Contains(s, "live red line") || strings.Contains(s, "not shown") {
		t.Errorf("live lines: want the selected process's, cleaned of escapes:\n%s", s)
	}
	send(t, m, logsMsg{gen: 1, lost: 7, lines: []logLine{{0, "batched"}, {1, "of worker"}}})
	s = screen(m)
	if !strings.Contains(s, "7 lines skipped") || !strings.Contains(s, "batched") || strings.Contains(s, "of worker") {
		t.Errorf("a batch of lines:\n%s", s)
	}
	press(t, m, "down")
	s = screen(m)
	if !strings.Contains(s, "logs of worker[1]") || !strings.Contains(s, "worker line") || strings.Contains(s, "api line") {
		t.Errorf("after selecting worker:\n%s", s)
	}
	if m.selected.Load() != 1 {
		t.Errorf("the feed's filter is on %d, want 1", m.selected.Load())
	}
}

func TestApplyTailOverlap(t *testing.T) {
	m, _ := newTest(t, 120, 40)
	m.tailing, m.early = true, []string{"b", "c", "d"}
	m.applyTail([]string{"a", "b", "c"}, nil)
	if got := strings.Join(m.logs, ","); got != "a,b,c,d" {
		t.Errorf("tail a,b,c with live b,c,d gives %s, want a,b,c,d", got)
	}
}

func TestModelDetails(t *testing.T) {
	m, _ := newTest(t, 120, 40)
	press(t, m, "down", "enter")
	s := screen(m)
	for _, want := range []string{"details of worker[1]", "pid", "101", "namespace", "jobs"} {
		if !strings.Contains(s, want) {
			t.Errorf("details lack %q:\n%s", want, s)
		}
	}
	press(t, m, "esc")
	if !strings.Contains(screen(m), "cpu trend") {
		t.Errorf("esc does not go back to the table")
	}
}

func TestModelHelp(t *testing.T) {
	m, _ := newTest(t, 80, 24)
	press(t, m, "?")
	if s := screen(m); !strings.Contains(s, "reload (zero downtime)") || !strings.Contains(s, "filter: name or namespace") {
		t.Errorf("help:\n%s", s)
	}
	press(t, m, "x")
	if m.mode != modeTable {
		t.Errorf("a key does not leave the help")
	}
}

func TestModelDroppedRelists(t *testing.T) {
	m, f := newTest(t, 120, 40)
	f.procs = f.procs[:2]
	send(t, m, eventMsg{gen: 1, ev: api.Event{Type: api.EventDropped, Dropped: 12}})
	if len(m.rows) != 2 {
		t.Errorf("after a dropped event: %d rows, want the 2 of a new list", len(m.rows))
	}
	if !strings.Contains(screen(m), "12 events lost") {
		t.Errorf("the log pane does not say events were lost:\n%s", screen(m))
	}
}

// TestModelSizes checks that every screen fits the terminal: 80x24 (ssh's default) with sparklines and logs, and
// smaller terminals as a plain table.
func TestModelSizes(t *testing.T) {
	for _, sz := range []struct {
		w, h int
		full bool
	}{{80, 24, true}, {120, 40, true}, {200, 60, true}, {79, 24, false}, {60, 10, false}, {40, 5, false}} {
		t.Run(fmt.Sprintf("%dx%d", sz.w, sz.h), func(t *testing.T) {
			m, _ := newTest(t, sz.w, sz.h)
			for i := range 30 {
				send(t, m, sample(api.Sample{ID: 0, CPU: float64(i), Memory: uint64(i) << 20}))
			}
			for _, keys := range [][]string{nil, {"?"}, {"esc", "enter"}, {"esc", "/", "a"}} {
				press(t, m, keys...)
				s := screen(m)
				lines := strings.Split(s, "\n")
				if len(lines) != sz.h {
					t.Errorf("keys %v: %d lines, want %d:\n%s", keys, len(lines), sz.h, s)
				}
				for _, l := range lines {
					if w := ansi.StringWidth(l); w > sz.w {
						t.Errorf("keys %v: line of %d cells in %d: %q", keys, w, sz.w, l)
					}
				}
			}
			press(t, m, "esc", "esc")
			if got := strings.Contains(screen(m), "cpu trend"); got != sz.full {
				t.Errorf("sparklines shown: %v, want %v", got, sz.full)
			}
		})
	}
}
