package service

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gpmd/gpm/api"
	"github.com/gpmd/gpm/config"
)

// runDaemon runs a real daemon in a private GPM_HOME until the test ends.
func runDaemon(t *testing.T, opts Options) *Daemon {
	t.Helper()
	home, err := os.MkdirTemp("", "gpm-caller-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(home) })
	opts.Home = home
	opts.Socket = filepath.Join(home, api.SocketName)
	d := New(opts)
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
			var b strings.Builder
			pprof.Lookup("goroutine").WriteTo(&b, 1)
			t.Errorf("Run did not return within 30 s of its context's end:\n%s", b.String())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		if err := d.Caller().Call(ctx, api.MethodPing, nil, nil); err == nil {
			return d
		} else if time.Now().After(deadline) {
			t.Fatalf("the daemon did not answer a ping within 30 s: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The in-process Caller runs the control socket's operations, with their checks, and streams the hub's events,
// numbered, with the samples a live view needs.
func TestCallerInProcess(t *testing.T) {
	d := runDaemon(t, Options{SampleInterval: 100 * time.Millisecond})
	c := d.Caller()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	events := make(chan api.Event, 1024)
	go c.Stream(ctx, api.MethodSubscribe, api.LogsParams{NoLogs: true}, func(e api.Event) error {
		if e.Type == api.EventLog {
			t.Errorf("a log line in a nologs subscription: %+v", e)
		}
		select {
		case events <- e:
		default:
		}
		return nil
	})
	time.Sleep(50 * time.Millisecond) // not a wait for a condition: the stream may miss the start, the test waits for samples below

	app := func(name, script string, args ...string) api.StartApp {
		a := config.New()
		a.Name, a.Script, a.Args = name, script, args
		if err := a.Normalize("/"); err != nil {
			t.Fatal(err)
		}
		return api.StartApp{App: a}
	}
	var started []api.Process
	if err := c.Call(ctx, api.MethodStart, api.StartParams{Apps: []api.StartApp{app("sleeper", "/bin/sh", "-c", "echo hello; exec sleep 60")}}, &started); err != nil {
		t.Fatalf("start: %v", err)
	}
	if len(started) != 1 || started[0].Name != "sleeper" {
		t.Fatalf("start answered %+v", started)
	}
	var bad *api.Error
	err := c.Call(ctx, api.MethodStart, api.StartParams{Apps: []api.StartApp{app("sleeper2", "/bin/true")}, CallerEnv: map[string]string{"X": strings.Repeat("x", api.MaxRequest)}}, nil)
	if !errors.As(err, &bad) {
		t.Fatalf("a start over api.MaxRequest: %v, want the control socket's *api.Error", err)
	}
	if err := c.Call(ctx, api.MethodKill, nil, nil); err == nil {
		t.Fatalf("kill from inside the daemon was accepted")
	}
	var seq uint64
	for {
		select {
		case e := <-events:
			if e.Seq != 0 && e.Seq <= seq {
				t.Fatalf("event %+v after seq %d: not increasing", e, seq)
			}
			seq = max(seq, e.Seq)
			if e.Type == api.EventSample && len(e.Samples) == 1 && e.Samples[0].PID == started[0].PID {
				var list []api.Process
				if err := c.Call(ctx, api.MethodList, nil, &list); err != nil || len(list) != 1 {
					t.Fatalf("list: %v %+v", err, list)
				}
				raw, _ := json.Marshal(e)
				t.Logf("sample event: %s", raw)
				c.Call(ctx, api.MethodDelete, api.Targets{Targets: []string{"all"}}, nil)
				return
			}
		case <-ctx.Done():
			t.Fatalf("no sample event for the started app within 60 s")
		}
	}
}

// A delete ends a process's events with a state event of status deleted (a stopped process's too, which sends no
// other): a live view drops it at once.
func TestDeleteEvent(t *testing.T) {
	d := runDaemon(t, Options{})
	c := d.Caller()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	a := config.New()
	a.Name, a.Script, a.Args = "held", "/bin/sleep", []string{"60"}
	if err := a.Normalize("/"); err != nil {
		t.Fatal(err)
	}
	var started []api.Process
	if err := c.Call(ctx, api.MethodStart, api.StartParams{Apps: []api.StartApp{{App: a, Stopped: true}}}, &started); err != nil || len(started) != 1 {
		t.Fatalf("start --stopped: %v %+v", err, started)
	}
	events := make(chan api.Event, 64)
	go c.Stream(ctx, api.MethodSubscribe, api.LogsParams{NoLogs: true}, func(e api.Event) error {
		if e.Type != api.EventSample {
			select {
			case events <- e:
			case <-ctx.Done():
			}
		}
		return nil
	})
	// The subscription is in place once it carries an event: (re)start a second process until its state comes.
	b := config.New()
	b.Name, b.Script, b.Args = "marker", "/bin/sleep", []string{"60"}
	if err := b.Normalize("/"); err != nil {
		t.Fatal(err)
	}
	for seen := false; !seen; {
		if err := c.Call(ctx, api.MethodStart, api.StartParams{Apps: []api.StartApp{{App: b}}}, nil); err != nil {
			t.Fatalf("start marker: %v", err)
		}
		timeout := time.After(time.Second)
	wait:
		for {
			select {
			case e := <-events:
				if seen = e.Name == "marker"; seen {
					break wait
				}
			case <-timeout:
				break wait
			}
		}
	}
	if err := c.Call(ctx, api.MethodDelete, api.Targets{Targets: []string{strconv.Itoa(started[0].ID)}}, nil); err != nil {
		t.Fatalf("delete: %v", err)
	}
	for {
		select {
		case e := <-events:
			if e.ID != started[0].ID {
				continue
			}
			if e.Type != api.EventState || e.Status != api.StatusDeleted || e.Name != "held" {
				t.Fatalf("the deleted process's event: %+v, want state deleted", e)
			}
			return
		case <-ctx.Done():
			t.Fatal("no event for the deletion of a stopped process")
		}
	}
}
