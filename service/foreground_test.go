package service

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gpmd/gpm/api"
	"github.com/gpmd/gpm/config"
)

// Serving is closed once the daemon serves (and at once when asked later); Follow is subscribed before its
// callback returns, so the first line of an app started after it is not missed; it gives no samples, and returns
// nil when its context ends.
func TestServingAndFollow(t *testing.T) {
	home, err := os.MkdirTemp("", "gpm-fg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(home) })
	d := New(Options{Home: home, Socket: filepath.Join(home, api.SocketName)})
	serving := d.Serving()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	select {
	case <-serving:
	case err := <-done:
		t.Fatalf("Run returned before it served: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("not serving within 60 s")
	}
	select {
	case <-d.Serving():
	default:
		t.Fatal("Serving asked once the daemon serves is not closed")
	}

	followCtx, endFollow := context.WithCancel(context.Background())
	subscribed := make(chan struct{})
	lines := make(chan api.Event, 16)
	followed := make(chan error, 1)
	go func() {
		followed <- d.Follow(followCtx, func() { close(subscribed) }, func(e api.Event) error {
			if e.Type == api.EventSample {
				t.Errorf("Follow gave a sample: %+v", e)
			}
			if e.Type == api.EventLog {
				lines <- e
			}
			return nil
		})
	}()
	<-subscribed
	a := config.New()
	a.Name, a.Script, a.Args = "once", "/bin/echo", []string{"first line"}
	a.Autorestart = false
	if err := a.Normalize("/"); err != nil {
		t.Fatal(err)
	}
	if err := d.Caller().Call(context.Background(), api.MethodStart, api.StartParams{Apps: []api.StartApp{{App: a}}}, nil); err != nil {
		t.Fatalf("start: %v", err)
	}
	select {
	case e := <-lines:
		if e.Name != "once" || e.Stream != "out" || e.Line != "first line" {
			t.Errorf("first event %+v, want once's line", e)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the app's first line did not come through Follow within 60 s")
	}
	endFollow()
	if err := <-followed; err != nil {
		t.Errorf("Follow: %v", err)
	}
}

// A call through Caller after the daemon stopped (gpm run's start, when SIGTERM came first) fails at once with an
// uncancellable context, instead of waiting for a loop that is gone; Stopped is closed by then; a timer's post is
// dropped.
func TestCallAfterStop(t *testing.T) {
	home, err := os.MkdirTemp("", "gpm-fg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(home) })
	d := New(Options{Home: home, Socket: filepath.Join(home, api.SocketName)})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	select {
	case <-d.Serving():
	case err := <-done:
		t.Fatalf("Run returned before it served: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	select {
	case <-d.Stopped():
	default:
		t.Fatal("Stopped is not closed after Run returned")
	}
	called := make(chan error, 1)
	go func() {
		var list []api.Process
		called <- d.Caller().Call(context.Background(), api.MethodList, nil, &list)
	}()
	select {
	case err := <-called:
		if err == nil {
			t.Fatal("list after the daemon stopped succeeded")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("list after the daemon stopped waited 30 s for its loop")
	}
	// A timer's post after the stop is dropped, not left waiting (the ops queue holds 64: post more than that).
	posted := make(chan struct{})
	go func() {
		for range 100 {
			d.post(func() {})
		}
		close(posted)
	}()
	select {
	case <-posted:
	case <-time.After(30 * time.Second):
		t.Fatal("post after the daemon stopped waited 30 s for its loop")
	}
}
