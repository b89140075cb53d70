//go:build linux

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

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

// TestAcceptRetry_Issue11Item4: with the daemon out of descriptors (prlimit on the running daemon, then more
// connections than it has descriptors left), a failed accept is logged and retried: once the connections close,
// `gpm ls` works again. The accept loop used to return on the first EMFILE, and every later command hung.
func TestAcceptRetry_Issue11Item4(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("prlimit"); err != nil {
		t.Skip("prlimit is not installed")
	}
	home := newHome(t)
	mustRun(t, home, "ping")
	pid := readPids(t, filepath.Join(home, api.PidName))[0]
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	limit := len(fds) + 8
	if out, err := exec.Command("prlimit", "--pid", strconv.Itoa(pid), fmt.Sprintf("--nofile=%d:%d", limit, limit)).CombinedOutput(); err != nil {
		t.Fatalf("prlimit: %v: %s", err, out)
	}
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	logPath := filepath.Join(home, api.DaemonLog)
	// Connections beyond the daemon's descriptors wait in the listen backlog, and its accept fails with EMFILE.
	for i := 0; i < 40; i++ {
		c, err := net.Dial("unix", api.SocketPath(home))
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		conns = append(conns, c)
	}
	waitFileContains(t, logPath, "too many open files")
	for _, c := range conns {
		c.Close()
	}
	conns = nil
	out, stderr, code := runWith(t, home, opts{env: []string{api.TimeoutEnv + "=20s"}}, "ls")
	if code != 0 {
		t.Fatalf("gpm ls after the descriptors came back: exit %d\n%s%s\n%s", code, out, stderr, readFile(t, logPath))
	}
	waitFileContains(t, logPath, "accepting again")
}

// TestCLITimeout_Issue11Item4: against a socket that accepts connections but never answers, the CLI gives up after
// GPM_TIMEOUT (or --timeout) with a message naming the socket and the daemon's log, instead of hanging; a
// long call (stop) gives up too, since the ping it sends meanwhile gets no answer either.
func TestCLITimeout_Issue11Item4(t *testing.T) {
	t.Parallel()
	home, err := os.MkdirTemp("", "gpm-e2e-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(home)
	ln, err := net.Listen("unix", api.SocketPath(home))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		var held []net.Conn // accepted and never answered
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	for _, tc := range []struct {
		env  []string
		args []string
		want string
	}{
		{[]string{api.TimeoutEnv + "=1s"}, []string{"ls"}, "accepted the connection but did not answer list within 1s"},
		{nil, []string{"--timeout", "1.5", "ls"}, "accepted the connection but did not answer list within 1.5s"},
		{[]string{api.TimeoutEnv + "=1s"}, []string{"stop", "web"}, "has not answered stop for 1s, and did not answer a ping within 1s"},
		{[]string{api.TimeoutEnv + "=1s"}, []string{"logs", "--nostream"}, "accepted the connection but did not answer logs within 1s"},
	} {
		start := time.Now()
		_, stderr, code := runWith(t, home, opts{env: tc.env}, tc.args...)
		if code != 1 || !strings.Contains(stderr, tc.want) || !strings.Contains(stderr, filepath.Join(home, api.DaemonLog)) ||
			!strings.Contains(stderr, api.SocketPath(home)) {
			t.Errorf("gpm %v: exit %d after %v, stderr %q; want exit 1 and a message with %q, the socket and the log",
				tc.args, code, time.Since(start).Round(time.Millisecond), stderr, tc.want)
		}
	}
}

// TestLogsLargeTail_Issue11Item8: `gpm logs --lines 100000` of a 20 MB log answers in a moment (it read backwards
// re-counting everything it had read: 57 s for 20 MB), and more than api.MaxLogLines is refused with the limit.
func TestLogsLargeTail_Issue11Item8(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	script := writeFile(t, home, "quiet.sh", "#!/bin/sh\nexec sleep 1000\n")
	os.Chmod(script, 0o755)
	mustRun(t, home, "start", script, "--name", "big")
	waitOnline(t, home, "big")
	f, err := os.OpenFile(outLog(home, "big"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	filler := strings.Repeat("z", 190)
	w := bufio.NewWriterSize(f, 1<<20)
	for i := 0; i < 100_500; i++ {
		fmt.Fprintf(w, "%06d %s\n", i, filler)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()

	start := time.Now()
	out := mustRun(t, home, "logs", "big", "--out", "--lines", strconv.Itoa(api.MaxLogLines), "--nostream", "--raw")
	got := lines(out)
	if len(got) != api.MaxLogLines || !strings.HasPrefix(got[0], "000500 ") || !strings.HasPrefix(got[len(got)-1], "100499 ") {
		t.Fatalf("%d lines (first %.10q, last %.10q), want %d from 000500 to 100499", len(got), got[0], got[len(got)-1], api.MaxLogLines)
	}
	t.Logf("gpm logs --lines %d of a %d MB log: %v", api.MaxLogLines, 100_500*198>>20, time.Since(start))

	_, stderr, code := run(t, home, "logs", "big", "--lines", strconv.Itoa(api.MaxLogLines+1), "--nostream")
	if code != 1 || !strings.Contains(stderr, "api.MaxLogLines") {
		t.Errorf("--lines over the limit: exit %d, stderr %q; want exit 1 and the limit named", code, stderr)
	}
}
