package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"time"

	"github.com/gpmd/gpm/client"
)

// foregroundWait is how long `start --no-daemon` waits for the daemon it started to answer.
const foregroundWait = 30 * time.Second

// foreground is `start --no-daemon` (PM2's, what containers run): a daemon of its own as a child of this process,
// its log on stderr; the caller then starts the apps and follows their logs. The returned stop ends it: every app
// stopped, the daemon gone. A daemon that already runs for this GPM_HOME is an error: its apps would not end with
// this command.
func (c *cli) foreground(ctx context.Context) (stop func(), err error) {
	if conn, err := client.Dial(ctx, c.home); err == nil {
		conn.Close()
		return nil, fmt.Errorf("--no-daemon runs a daemon of its own, and one already runs for %s (gpm kill, or another GPM_HOME)", c.home)
	} else if !errors.Is(err, client.ErrNotRunning) {
		return nil, err
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find gpm binary: %w", err)
	}
	cmd := exec.Command(exe, "daemon")
	cmd.Stdout, cmd.Stderr = c.stderr, c.stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the daemon: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop = func() {
		if conn, err := client.Dial(context.WithoutCancel(ctx), c.home); err == nil {
			conn.Kill(context.WithoutCancel(ctx))
			conn.Close()
		}
		<-exited
	}
	deadline := time.Now().Add(foregroundWait)
	for {
		conn, err := client.Dial(ctx, c.home)
		if err == nil {
			conn.Close()
			return stop, nil
		}
		select {
		case err := <-exited:
			return nil, fmt.Errorf("the daemon exited before it answered: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			stop()
			return nil, fmt.Errorf("the daemon did not answer within %v (foregroundWait)", foregroundWait)
		}
	}
}
