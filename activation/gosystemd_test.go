package activation

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	sdactivation "github.com/coreos/go-systemd/v22/activation"
)

// TestMain lets the test binary act as the trampoline and as a worker, as gpm's binary and an app would.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == TrampolineArg {
		err := RunTrampoline(os.Args[2:])
		fmt.Fprintln(os.Stderr, err)
		os.Exit(127)
	}
	if os.Getenv("GPM_TEST_WORKER") == "1" {
		os.Exit(worker())
	}
	if os.Getenv(inheritHelperEnv) == "1" {
		os.Exit(inheritHelper())
	}
	os.Exit(m.Run())
}

// worker is a Go app that speaks socket activation through go-systemd, unmodified: it serves one request on the
// listener named "web" and says its pid.
func worker() int {
	lns, err := sdactivation.ListenersWithNames()
	if err != nil || len(lns["web"]) != 1 {
		fmt.Fprintf(os.Stderr, "worker: listeners %v, %v\n", lns, err)
		return 1
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "pid %d", os.Getpid())
		go func() { time.Sleep(50 * time.Millisecond); os.Exit(0) }()
	})}
	srv.Serve(lns["web"][0])
	return 0
}

// TestGoSystemdWorkerTakesTheSocket passes a socket bound by Bind to a worker through the trampoline, the way the
// daemon does: go-systemd finds it under its name, with LISTEN_PID equal to the worker's own pid.
func TestGoSystemdWorkerTakesTheSocket(t *testing.T) {
	sock, err := Bind(Spec{Name: "web", Network: "tcp", Address: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer sock.Close()
	addr, err := sock.Addr()
	if err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	argv := TrampolineArgs(self, self, []string{self})
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "GPM_TEST_WORKER=1")
	cmd.Env = append(cmd.Env, Env([]*Socket{sock})...)
	cmd.ExtraFiles = Files([]*Socket{sock})
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	c, err := net.DialTimeout("tcp", addr.String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get("http://" + addr.String() + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := fmt.Sprintf("pid %d", cmd.Process.Pid); string(body) != want {
		t.Fatalf("worker said %q, want %q: the trampoline must keep the pid that LISTEN_PID names", body, want)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("worker: %v", err)
	}
}

// TestTrampolineReplacesListenPID: a LISTEN_PID already in the environment (an app's own env, say) is replaced, not
// followed by the trampoline's: getenv finds the first of two, and the worker would see the stale one.
func TestTrampolineReplacesListenPID(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, TrampolineArgs(self, "/bin/cat", []string{"cat", "/proc/self/environ"})[1:]...)
	cmd.Env = append(os.Environ(), "LISTEN_PID=1")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("trampoline: %v", err)
	}
	var pids []string
	for _, kv := range strings.Split(string(out), "\x00") {
		if v, ok := strings.CutPrefix(kv, "LISTEN_PID="); ok {
			pids = append(pids, v)
		}
	}
	if len(pids) != 1 || pids[0] != strconv.Itoa(cmd.Process.Pid) {
		t.Errorf("LISTEN_PID in the worker's environment: %q, want only %d (the trampoline's pid, which exec keeps)", pids, cmd.Process.Pid)
	}
}
