//go:build linux

package e2e

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/gpmd/gpm/api"
)

// TestKillConcurrent_Issue11Item5: two `gpm kill` at once both get an answer, and the daemon exits cleanly (it
// panicked with "close of closed channel" when both reached the end of kill). The app takes a moment to stop, so
// that the second kill arrives while the first still waits for it; several rounds, since it is a race.
func TestKillConcurrent_Issue11Item5(t *testing.T) {
	t.Parallel()
	for round := 0; round < 4; round++ {
		home := newHome(t)
		script := writeFile(t, home, "slow.sh", "#!/bin/sh\ntrap 'sleep 0.3; exit 0' TERM\nwhile :; do sleep 0.1; done\n")
		os.Chmod(script, 0o755)
		mustRun(t, home, "start", script, "--name", "slow")
		waitOnline(t, home, "slow")

		var wg sync.WaitGroup
		type result struct {
			out  string
			err  error
			code int
		}
		results := make([]result, 2)
		for i := range results {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
				defer cancel()
				cmd := gpmCmd(ctx, home, opts{}, "kill")
				var out bytes.Buffer
				cmd.Stdout, cmd.Stderr = &out, &out
				err := cmd.Run()
				results[i] = result{out.String(), err, cmd.ProcessState.ExitCode()}
			}()
		}
		wg.Wait()
		for i, r := range results {
			if r.err != nil {
				t.Errorf("round %d: kill %d: %v (exit %d): %s", round, i, r.err, r.code, r.out)
			}
		}
		log := readFile(t, filepath.Join(home, api.DaemonLog))
		if bytes.Contains([]byte(log), []byte("panic:")) {
			t.Fatalf("round %d: the daemon panicked on two concurrent kills:\n%s", round, log)
		}
		if _, err := os.Stat(api.SocketPath(home)); err == nil {
			t.Fatalf("round %d: the control socket is still there after both kills: the daemon did not exit cleanly\n%s", round, log)
		}
	}
}
