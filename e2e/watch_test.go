package e2e

import (
	"context"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestListWatch: `gpm ls --watch` prints the table again when an app changes, from the daemon's events (its output
// here is a pipe: tables separated by blank lines), and ends with exit 0 on SIGINT.
func TestListWatch(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	mustRun(t, home, "start", "sleep", "--name", "watched", "--", "1000")
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	cmd := gpmCmd(ctx, home, opts{}, "ls", "--watch")
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, func() bool { return strings.Contains(out.String(), "online") }, "the first table with the app online")
	mustRun(t, home, "stop", "watched")
	waitFor(t, 30*time.Second, func() bool {
		tables := strings.Split(strings.TrimSpace(out.String()), "\n\n")
		last := tables[len(tables)-1]
		return len(tables) > 1 && strings.Contains(last, "watched") && strings.Contains(last, "stopped")
	}, "a later table with the app stopped")
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("gpm ls --watch after SIGINT: %v\n%s", err, out.String())
	}
}
