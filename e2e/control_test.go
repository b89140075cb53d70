//go:build linux

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
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
	// 20,500 lines: enough to cross many of Tail's blocks; that Tail is linear is TestTailLinear's (it counts
	// bytes): this test is the whole path, whose time under -race on a loaded machine is not what it measures.
	const total, want = 20_500, 20_000
	for i := 0; i < total; i++ {
		fmt.Fprintf(w, "%06d %s\n", i, filler)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()

	start := time.Now()
	out := mustRun(t, home, "logs", "big", "--out", "--lines", strconv.Itoa(want), "--nostream", "--raw")
	got := lines(out)
	if len(got) != want || !strings.HasPrefix(got[0], "000500 ") || !strings.HasPrefix(got[len(got)-1], "020499 ") {
		t.Fatalf("%d lines (first %.10q, last %.10q), want %d from 000500 to 020499", len(got), got[0], got[len(got)-1], want)
	}
	t.Logf("gpm logs --lines %d of a %d MB log: %v", want, total*198>>20, time.Since(start))

	_, stderr, code := run(t, home, "logs", "big", "--lines", strconv.Itoa(api.MaxLogLines+1), "--nostream")
	if code != 1 || !strings.Contains(stderr, "api.MaxLogLines") {
		t.Errorf("--lines over the limit: exit %d, stderr %q; want exit 1 and the limit named", code, stderr)
	}
}

// rawConn connects to home's daemon directly, to speak the protocol as a hostile or slow client would.
func rawConn(t *testing.T, home string) net.Conn {
	t.Helper()
	var c net.Conn
	var err error
	// EAGAIN: the listen backlog is full for a moment, while the daemon accepts a burst.
	waitFor(t, cmdTimeout, func() bool {
		c, err = net.Dial("unix", api.SocketPath(home))
		return !errors.Is(err, syscall.EAGAIN)
	}, "room in the listen backlog")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// daemonRSS is the resident memory of home's daemon, in bytes.
func daemonRSS(t *testing.T, home string) int64 {
	t.Helper()
	pid := readPids(t, filepath.Join(home, api.PidName))[0]
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	t.Fatalf("no VmRSS in /proc/%d/status", pid)
	return 0
}

// TestRequestTooLarge_Issue11Item9: a 20 MB line without a newline gets an answer naming api.MaxRequest, not a
// silent close at 16 MiB, and the daemon goes on serving.
func TestRequestTooLarge_Issue11Item9(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	mustRun(t, home, "ping")
	c := rawConn(t, home)
	go func() {
		chunk := bytes.Repeat([]byte("x"), 1<<20)
		for i := 0; i < 20; i++ {
			if _, err := c.Write(chunk); err != nil {
				return
			}
		}
	}()
	c.SetReadDeadline(time.Now().Add(cmdTimeout))
	line, err := bufio.NewReader(c).ReadBytes('\n')
	var r api.Response
	if err != nil || json.Unmarshal(line, &r) != nil || r.Error == nil || r.Error.Code != api.CodeTooLarge ||
		!strings.Contains(r.Error.Message, "api.MaxRequest") {
		t.Fatalf("20 MB request: answer %q (%v), want code %s naming api.MaxRequest", line, err, api.CodeTooLarge)
	}
	mustRun(t, home, "ls")
}

// TestIdleConnections_Issue11Item9: 5,000 idle connections (under maxConns) still leave the daemon serving, at a
// bounded cost in memory.
func TestIdleConnections_Issue11Item9(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	mustRun(t, home, "ping")
	before := daemonRSS(t, home)
	for i := 0; i < 5000; i++ {
		rawConn(t, home)
	}
	mustRun(t, home, "ls")
	after := daemonRSS(t, home)
	t.Logf("daemon RSS %d MB, %d MB with 5,000 idle connections", before>>20, after>>20)
	if after-before > 200<<20 {
		t.Errorf("5,000 idle connections cost the daemon %d MB", (after-before)>>20)
	}
}

// TestSubscriberMemory_Issue11Item9: a subscriber that stops reading while an app writes 120 MB of 60 KB lines
// leaves the daemon's memory bounded (it held 4,096 events of up to 64 KB each), and when it reads again it gets a
// "dropped" event: the lines it received plus those dropped are all the app wrote.
func TestSubscriberMemory_Issue11Item9(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	const n = 2000
	script := writeFile(t, home, "wide.sh", fmt.Sprintf(`#!/bin/sh
read go < "$1"
line=$(printf '%%060000d' 0)
i=0
while [ $i -lt %d ]; do echo "$i $line"; i=$((i+1)); done
echo done
exec sleep 1000
`, n))
	os.Chmod(script, 0o755)
	fifo := filepath.Join(home, "go.fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	mustRun(t, home, "start", script, "--name", "wide", "--", fifo)
	waitOnline(t, home, "wide")
	before := daemonRSS(t, home)

	c := rawConn(t, home)
	r := bufio.NewReader(c)
	c.SetDeadline(time.Now().Add(cmdTimeout))
	fmt.Fprintf(c, `{"v":1,"id":1,"method":"logs","params":{"targets":["wide"],"lines":0}}`+"\n")
	if line, err := r.ReadBytes('\n'); err != nil || !strings.Contains(string(line), `"ok":true`) {
		t.Fatalf("logs: %q %v", line, err)
	}
	// Subscribed and not reading: let the app write.
	if err := os.WriteFile(fifo, []byte("go\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, func() bool {
		b, _ := exec.Command("tail", "-c", "5", outLog(home, "wide")).Output()
		return string(b) == "done\n"
	}, "the app to write its lines")
	peak := daemonRSS(t, home)
	t.Logf("daemon RSS %d MB before, %d MB after 120 MB of lines to a subscriber that does not read", before>>20, peak>>20)
	if peak-before > 64<<20 {
		t.Errorf("the daemon grew by %d MB for one subscriber that does not read", (peak-before)>>20)
	}

	var logs, dropped int64
	c.SetDeadline(time.Now().Add(cmdTimeout))
	dec := json.NewDecoder(r)
	for logs+dropped < n+1 {
		var resp api.Response
		if err := dec.Decode(&resp); err != nil {
			t.Fatalf("after %d lines and %d dropped: %v", logs, dropped, err)
		}
		switch resp.Event.Type {
		case api.EventLog:
			logs++
		case api.EventDropped:
			dropped += resp.Event.Dropped
		}
	}
	// At least: a 60 KB line the shell wrote slowly (a loaded machine) is shown in two pieces, the first flushed
	// after logfile.PartialFlush (issue 14 item 11), so events may outnumber lines.
	if dropped == 0 || logs+dropped < n+1 {
		t.Errorf("%d lines received and %d dropped, want at least %d in all with some dropped", logs, dropped, n+1)
	}
}

// TestLogsPrintsDropped_Issue11Item9: `gpm logs` whose output is not read while an app writes 12 MB says, on
// stderr, how many lines it lost once it reads again.
func TestLogsPrintsDropped_Issue11Item9(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	script := writeFile(t, home, "wide.sh", `#!/bin/sh
echo ready
read go < "$1"
line=$(printf '%060000d' 0)
i=0
while [ $i -lt 200 ]; do echo "$i $line"; i=$((i+1)); done
echo done
exec sleep 1000
`)
	os.Chmod(script, 0o755)
	fifo := filepath.Join(home, "go.fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	mustRun(t, home, "start", script, "--name", "wide", "--", fifo)
	waitFileContains(t, outLog(home, "wide"), "ready")
	ctx, cancel := context.WithTimeout(context.Background(), 2*cmdTimeout)
	defer cancel()
	cmd := gpmCmd(ctx, home, opts{}, "logs", "wide", "--raw", "--out", "--lines", "1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer cancel()
	// The last line of the file comes after the subscription: once it is here, every new line is queued for us.
	br := bufio.NewReader(stdout)
	if l, err := br.ReadString('\n'); err != nil || l != "ready\n" {
		t.Fatalf("gpm logs: first line %q, %v", l, err)
	}
	if err := os.WriteFile(fifo, []byte("go\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, func() bool {
		b, _ := exec.Command("tail", "-c", "5", outLog(home, "wide")).Output()
		return string(b) == "done\n"
	}, "the app to write its lines")
	go io.Copy(io.Discard, br)
	waitFor(t, cmdTimeout, func() bool { return strings.Contains(stderr.String(), "lines dropped here") }, "gpm logs to say that lines were dropped")
}
