package client

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/gpmd/gpm/api"
	"github.com/gpmd/gpm/platform"
)

// Connect dials the daemon of home and, when none answers, starts one by running exe ("gpm") with the argument
// "daemon", detached in its own session with its output in GPM_HOME/gpm.log, and waits until it answers.
// started reports whether this call started it. Racing callers start one daemon: they serialize on a lock file and
// look again once they hold it.
func Connect(ctx context.Context, home, exe string) (c *Client, started bool, err error) {
	if c, err := Dial(ctx, home); err == nil {
		return c, false, nil
	} else if !errors.Is(err, ErrNotRunning) {
		return nil, false, err
	}
	if err := os.MkdirAll(home, 0o700); err != nil {
		return nil, false, fmt.Errorf("start daemon: %w", err)
	}
	// Refused here too, not only by the daemon: the CLI then says why instead of "see gpm.log" (in a home it
	// should not write to).
	if err := api.CheckHome(home); err != nil {
		return nil, false, fmt.Errorf("start daemon: %w", err)
	}
	lock, err := platform.Lock(filepath.Join(home, api.SpawnLock), true)
	if err != nil {
		return nil, false, fmt.Errorf("start daemon: %w", err)
	}
	defer lock.Close()
	if c, err := Dial(ctx, home); err == nil {
		return c, false, nil // another caller started it while we waited for the lock
	}
	logPath := filepath.Join(home, api.DaemonLog)
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := spawn(ctx, home, exe, logPath, deadline)
		if err == nil {
			return c, true, nil
		}
		// A daemon that is still shutting down holds the home for a moment: the new one exits at once. Try again.
		if !errors.Is(err, errExited) || time.Now().After(deadline) {
			return nil, false, err
		}
		select {
		case <-ctx.Done():
			return nil, false, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if c, err := Dial(ctx, home); err == nil {
			return c, false, nil
		}
	}
}

var errExited = errors.New("the daemon exited")

// spawn starts one daemon and waits until it answers, it exits, or the deadline passes.
func spawn(ctx context.Context, home, exe, logPath string, deadline time.Time) (*Client, error) {
	logf, err := os.OpenFile(logPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("start daemon: %w", err)
	}
	defer logf.Close()
	// os/exec is fine here: this is the client, not the daemon.
	cmd := exec.Command(exe, "daemon")
	cmd.Env = append(os.Environ(), api.HomeEnv+"="+home)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = platform.DetachedAttr()
	cmd.Dir = "/"
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start daemon: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	for delay := 5 * time.Millisecond; ; delay = min(delay*2, 100*time.Millisecond) {
		if c, err := Dial(ctx, home); err == nil {
			return c, nil
		}
		select {
		case err := <-exited:
			return nil, fmt.Errorf("start daemon: %w (%v); see %s", errExited, err, logPath)
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(delay):
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("start daemon: no answer after 10s; see %s", logPath)
		}
	}
}
