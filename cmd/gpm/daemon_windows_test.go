package main

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/windows/svc"
)

// execute runs h.Execute as svc.Run would, with the SCM's side played by the returned channels.
func execute(h *scmHandler) (chan<- svc.ChangeRequest, <-chan svc.Status, <-chan [2]any) {
	req := make(chan svc.ChangeRequest)
	status := make(chan svc.Status, 64)
	out := make(chan [2]any, 1)
	go func() {
		specific, code := h.Execute(nil, req, status)
		out <- [2]any{specific, code}
	}()
	return req, status, out
}

func waitRunning(t *testing.T, status <-chan svc.Status) {
	t.Helper()
	for {
		select {
		case s := <-status:
			if s.State == svc.Running {
				if s.Accepts&svc.AcceptStop == 0 || s.Accepts&svc.AcceptShutdown == 0 {
					t.Errorf("running service accepts %v: not Stop and Shutdown", s.Accepts)
				}
				return
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the handler never reported Running")
		}
	}
}

func result(t *testing.T, out <-chan [2]any) (bool, uint32) {
	t.Helper()
	select {
	case r := <-out:
		return r[0].(bool), r[1].(uint32)
	case <-time.After(5 * time.Second):
		t.Fatal("Execute did not return")
		return false, 0
	}
}

// TestSCMStop: Stop cancels the daemon's context, waits for it, and reports a clean stop.
func TestSCMStop(t *testing.T) {
	for _, cmd := range []svc.Cmd{svc.Stop, svc.Shutdown, svc.PreShutdown} {
		stopped := make(chan struct{})
		h := &scmHandler{ctx: context.Background(), stopTimeout: 5 * time.Second, run: func(ctx context.Context) error {
			<-ctx.Done()
			close(stopped)
			return nil
		}}
		req, status, out := execute(h)
		waitRunning(t, status)
		req <- svc.ChangeRequest{Cmd: svc.Interrogate, CurrentStatus: svc.Status{State: svc.Running}}
		if s := <-status; s.State != svc.Running {
			t.Errorf("Interrogate answered %v", s.State)
		}
		req <- svc.ChangeRequest{Cmd: cmd}
		if specific, code := result(t, out); specific || code != 0 || h.err != nil {
			t.Errorf("%v: Execute = %v, %d (err %v), want a clean stop", cmd, specific, code, h.err)
		}
		select {
		case <-stopped:
		default:
			t.Errorf("%v: Execute returned before the daemon stopped", cmd)
		}
	}
}

// TestSCMDaemonExits: a daemon that returns on its own (gpm kill) stops the service cleanly; one that fails reports
// a service-specific exit code, which the recovery actions restart.
func TestSCMDaemonExits(t *testing.T) {
	boom := errors.New("boom")
	for _, want := range []error{nil, boom} {
		h := &scmHandler{ctx: context.Background(), stopTimeout: time.Second, run: func(context.Context) error { return want }}
		_, _, out := execute(h)
		specific, code := result(t, out)
		if (want == nil) != (!specific && code == 0) || (want != nil && code != 1) || h.err != want {
			t.Errorf("daemon returned %v: Execute = %v, %d (err %v)", want, specific, code, h.err)
		}
	}
}

// TestSCMStopTimeout: a daemon that does not stop in time still lets the service report that it stopped.
func TestSCMStopTimeout(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	h := &scmHandler{ctx: context.Background(), stopTimeout: 1500 * time.Millisecond, run: func(context.Context) error {
		<-release
		return nil
	}}
	req, status, out := execute(h)
	waitRunning(t, status)
	req <- svc.ChangeRequest{Cmd: svc.Stop}
	specific, code := result(t, out)
	if !specific || code != 1 || h.err == nil {
		t.Errorf("Execute = %v, %d (err %v), want a failure after the timeout", specific, code, h.err)
	}
	pending := 0
	for len(status) > 0 {
		if s := <-status; s.State == svc.StopPending {
			pending++
		}
	}
	if pending < 2 {
		t.Errorf("%d StopPending reports, want the first and at least one checkpoint", pending)
	}
}

func TestDaemonCommand(t *testing.T) {
	for args, want := range map[string]bool{"daemon --resurrect": true, "--system daemon": true, "list": false, "": false} {
		if got := daemonCommand(strings.Fields(args)); got != want {
			t.Errorf("daemonCommand(%q) = %v", args, got)
		}
	}
}
