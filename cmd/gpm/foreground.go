//go:build !gpmthin

package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/gpmd/gpm/client"
	"github.com/gpmd/gpm/service"
)

// localDaemon is a daemon running inside this command (foreground).
type localDaemon struct {
	d      *service.Daemon
	cancel context.CancelFunc
	done   chan struct{} // closed when Run has returned: every app stopped, the home released
	err    error         // Run's, once done is closed
}

// newDaemon is the daemon of c.home as `gpm daemon`, `start --no-daemon` and `gpm run` configure it.
func (c *cli) newDaemon(resurrect bool) *service.Daemon {
	opts := service.Options{Home: c.home, Version: version, Resurrect: resurrect, Log: c.stderr}
	if os.Getenv("GOMEMLIMIT") == "" { // the environment's limit wins
		opts.MemoryLimit = 10 << 20
	}
	return service.New(opts)
}

// foreground runs a daemon of c.home inside this process, its log on stderr, and returns once it serves: `start
// --no-daemon` (PM2's) and `gpm run` (a container's PID 1). In this process rather than as a child: as PID 1 the
// daemon, which reaps every child (wait4(-1)), is also the one that reaps the orphans of the whole container, and a
// second Go process would cost its memory and its start-up. The daemon serves its control socket as any other, so
// `gpm reload` from `docker exec` reaches it. It ends on SIGTERM or SIGINT (its own handler stops every app with
// its kill_signal first), on `gpm kill`, or on stop. A daemon that already runs for this GPM_HOME is an error: its
// apps would not end with this command. Nothing in this process may wait for a child itself (os/exec's Wait): the
// daemon reaps them all.
func (c *cli) foreground(ctx context.Context) (*localDaemon, error) {
	if conn, err := client.Dial(ctx, c.home); err == nil {
		conn.Close()
		return nil, fmt.Errorf("a daemon of its own runs in this process, and one already runs for %s (gpm kill, or another GPM_HOME)", c.home)
	} else if !errors.Is(err, client.ErrNotRunning) {
		return nil, err
	}
	l := &localDaemon{d: c.newDaemon(false), done: make(chan struct{})}
	// The daemon handles SIGINT and SIGTERM itself; ctx (cancelled by them too) only matters until it serves.
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	l.cancel = cancel
	serving := l.d.Serving()
	go func() {
		l.err = l.d.Run(runCtx)
		close(l.done)
	}()
	select {
	case <-serving:
		return l, nil
	case <-l.done:
		cancel()
		if l.err == nil {
			l.err = errors.New("it was stopped")
		}
		return nil, fmt.Errorf("the daemon exited before it served: %w", l.err)
	case <-ctx.Done():
		l.stop()
		return nil, ctx.Err()
	}
}

// stop ends the daemon (every app stopped with its kill_signal, SIGKILL after its kill_timeout) and returns Run's
// error; it may be called again.
func (l *localDaemon) stop() error {
	l.cancel()
	<-l.done
	return l.err
}

// ended reports whether l's daemon takes no more requests (a signal or gpm kill stopped it), and then waits for
// its Run to return and gives its error: a call that failed then failed because of the stop, which is a clean end.
func (l *localDaemon) ended() (bool, error) {
	select {
	case <-l.d.Stopped():
		<-l.done
		return true, l.err
	default:
		return false, nil
	}
}

func cmdDaemon(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("daemon")
	resurrect := fs.Bool("resurrect", false, "start the saved list first")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	execWebProgram(c.home)
	d := c.newDaemon(*resurrect)
	// The daemon handles SIGINT and SIGTERM itself (stop every app, then exit); ctx here is not cancelled by them.
	return runDaemon(context.WithoutCancel(ctx), d)
}
