//go:build linux

package service

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gpmd/gpm/api"
	"github.com/gpmd/gpm/config"
)

// TestActions: a process-file action runs with the app's environment and ARG appended, a failing one says its
// exit code; trigger's arguments are checked; an action connection from a process that is not gpm's is refused.
func TestActions(t *testing.T) {
	d := runDaemon(t, Options{})
	c := d.Caller()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	a := config.New()
	a.Name, a.Script, a.Args = "acts", "/bin/sleep", []string{"60"}
	a.Env = map[string]string{"WHO": "acts-env"}
	a.Actions = map[string][]string{"say": {"/bin/sh", "-c", `echo "$WHO $1"`, "sh"}, "fail": {"/bin/sh", "-c", "echo out; exit 4"}}
	if err := a.Normalize("/"); err != nil {
		t.Fatal(err)
	}
	if err := c.Call(ctx, api.MethodStart, api.StartParams{Apps: []api.StartApp{{App: a}}}, nil); err != nil {
		t.Fatal(err)
	}
	defer c.Call(ctx, api.MethodDelete, api.Targets{Targets: []string{"all"}}, nil)
	var res []api.TriggerResult
	if err := c.Call(ctx, api.MethodTrigger, api.TriggerParams{Targets: []string{"acts"}, Action: "say", Arg: "two words"}, &res); err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || res[0].Output != "acts-env two words\n" || res[0].Error != "" {
		t.Errorf("say: %+v", res)
	}
	if err := c.Call(ctx, api.MethodTrigger, api.TriggerParams{Targets: []string{"acts"}, Action: "fail"}, &res); err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || res[0].Output != "out\n" || !strings.Contains(res[0].Error, "exit code 4") {
		t.Errorf("fail: %+v", res)
	}
	for _, bad := range []api.TriggerParams{
		{Targets: []string{"acts"}, Action: "two words"},
		{Targets: []string{"acts"}, Action: "say", Arg: strings.Repeat("a", maxActionArg+1)},
		{Action: "say"},
	} {
		var ae *api.Error
		if err := c.Call(ctx, api.MethodTrigger, bad, nil); !errors.As(err, &ae) || ae.Code != api.CodeInvalid {
			t.Errorf("trigger %.40v: %v, want invalid", bad, err)
		}
	}
	var ae *api.Error
	if err := c.Call(ctx, api.MethodTrigger, api.TriggerParams{Targets: []string{"nope"}, Action: "say"}, nil); !errors.As(err, &ae) || ae.Code != api.CodeNotFound {
		t.Errorf("unknown target: %v", err)
	}

	// This test process is no process of gpm: its declaration is refused.
	conn, err := net.Dial("unix", d.path(NotifyStreamName))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := conn.Write([]byte("X_GPM_ACTION=x\n")); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "ERR pid") {
		t.Errorf("declaration from outside: %q %v", line, err)
	}
}

// TestActionInAppCgroup: in cgroup mode, a process-file action runs in the cgroup of the app's run, as a part of
// its tree (its limits, its stop), not in the daemon's.
func TestActionInAppCgroup(t *testing.T) {
	d := runDaemon(t, Options{})
	c := d.Caller()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	a := config.New()
	a.Name, a.Script, a.Args = "where", "/bin/sleep", []string{"60"}
	a.Actions = map[string][]string{"cgroup": {"/bin/cat", "/proc/self/cgroup"}}
	if err := a.Normalize("/"); err != nil {
		t.Fatal(err)
	}
	var started []api.Process
	if err := c.Call(ctx, api.MethodStart, api.StartParams{Apps: []api.StartApp{{App: a}}}, &started); err != nil || len(started) != 1 {
		t.Fatalf("start: %v %+v", err, started)
	}
	defer c.Call(ctx, api.MethodDelete, api.Targets{Targets: []string{"all"}}, nil)
	if started[0].Cgroup == "" {
		t.Skip("the daemon runs without cgroups here (process groups)")
	}
	var res []api.TriggerResult
	if err := c.Call(ctx, api.MethodTrigger, api.TriggerParams{Targets: []string{"where"}, Action: "cgroup"}, &res); err != nil || len(res) != 1 {
		t.Fatalf("trigger: %v %+v", err, res)
	}
	app, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", started[0].PID))
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Output != string(app) {
		t.Errorf("the action ran in\n%s\nthe app runs in\n%s", res[0].Output, app)
	}
}

// TestActionStuckAppKeepsLoop: an app that declares an action and never reads its connection fills the socket, and
// a call's write then waits (shimTimeout) for room; the loop, which looks the connections up for every trigger,
// must not wait with it. It did: the write held the connection's lock that the lookup takes, so every app's
// supervision and every control call stood still while one app did not read.
func TestActionStuckAppKeepsLoop(t *testing.T) {
	d := runDaemon(t, Options{})
	c := d.Caller()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	declared := filepath.Join(t.TempDir(), "declared")
	a := config.New()
	a.Name, a.Script = "deaf", "/usr/bin/python3"
	a.Args = []string{"-c", `import os, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.connect(os.environ["GPM_NOTIFY_STREAM"])
s.sendall(b"X_GPM_ACTION=a\n")
assert s.recv(3) == b"OK\n"
open(sys.argv[1], "w").close()
time.sleep(600)
`, declared}
	if _, err := os.Stat(a.Script); err != nil {
		t.Skip("no python3 to write the app in")
	}
	if err := a.Normalize("/"); err != nil {
		t.Fatal(err)
	}
	if err := c.Call(ctx, api.MethodStart, api.StartParams{Apps: []api.StartApp{{App: a}}}, nil); err != nil {
		t.Fatal(err)
	}
	defer c.Call(ctx, api.MethodDelete, api.Targets{Targets: []string{"all"}}, nil)
	for deadline := time.Now().Add(30 * time.Second); ; {
		if _, err := os.Stat(declared); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the app did not declare its action within 30 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Each call is a 24 KiB line (control characters are 6 bytes in JSON): a few fill the socket's buffer, and the
	// next write waits. Meanwhile the loop must go on: a trigger of an action the app lacks (its lookup is on the
	// loop), a list.
	arg := strings.Repeat("\x01", maxActionArg)
	var wg sync.WaitGroup
	for range maxActionPending / 2 {
		wg.Go(func() {
			c.Call(ctx, api.MethodTrigger, api.TriggerParams{Targets: []string{"deaf"}, Action: "a", Arg: arg}, nil)
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for {
		select {
		case <-done:
			return
		default:
		}
		start := time.Now()
		if err := c.Call(ctx, api.MethodTrigger, api.TriggerParams{Targets: []string{"deaf"}, Action: "b"}, nil); err != nil {
			t.Fatal(err)
		}
		if err := c.Call(ctx, api.MethodList, nil, nil); err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took > shimTimeout/2 {
			t.Errorf("a trigger and a list took %v while triggers wrote to an app that does not read: the loop waited for the writes", took)
			<-done
			return
		}
	}
}
