package platform

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
)

// The process tests re-execute the test binary as the app (helperEnv names what it does), started through Start,
// and collect its exit through the one Reap that TestMain runs for the whole binary.
const helperEnv = "GPM_PLATFORM_TEST_HELPER"

var exits = make(chan Exit, 64)

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		helper(mode)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	go Reap(ctx, exits)
	code := m.Run()
	cancel()
	os.Exit(code)
}

// helper is the app side of the process tests.
func helper(mode string) {
	switch {
	case strings.HasPrefix(mode, "exit:"):
		n, _ := strconv.Atoi(strings.TrimPrefix(mode, "exit:"))
		os.Exit(n)
	case mode == "sleep":
		time.Sleep(time.Hour)
	case mode == "env":
		wd, _ := os.Getwd()
		fmt.Printf("%s|%s|%s\n", os.Getenv("GPM_TEST_VAR"), wd, os.Getenv("SYSTEMROOT"))
	case mode == "tree":
		self, _ := os.Executable()
		c := exec.Command(self)
		c.Env = append(os.Environ(), helperEnv+"=sleep")
		if err := c.Start(); err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		fmt.Println(c.Process.Pid)
		time.Sleep(time.Hour)
	case mode == "interrupt":
		sigs := make(chan os.Signal, 1)
		signal.Notify(sigs, os.Interrupt)
		fmt.Println("ready")
		select {
		case <-sigs:
			os.Exit(7)
		case <-time.After(time.Minute):
			os.Exit(1)
		}
	}
	os.Exit(0)
}

// startHelper starts the test binary in mode and returns its pid and its stdout.
func startHelper(t *testing.T, mode string, extraEnv ...string) (int, *bufio.Reader) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	env := append(append(os.Environ(), helperEnv+"="+mode), extraEnv...)
	pid, err := Start(&Cmd{Path: self, Args: []string{self}, Env: env, Stdout: w, Stderr: w, UID: -1, GID: -1})
	w.Close()
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { SignalGroup(pid, syscall.SIGKILL) })
	return pid, bufio.NewReader(r)
}

func waitExit(t *testing.T, pid int) Exit {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case e := <-exits:
			if e.PID == pid {
				return e
			}
		case <-deadline:
			t.Fatalf("no exit reported for pid %d", pid)
		}
	}
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

func TestPipeName(t *testing.T) {
	a := pipeName(`C:\Users\ann\.gpm\gpm.sock`)
	if !strings.HasPrefix(a, `\\.\pipe\gpm-`) {
		t.Errorf("pipeName = %q, want a \\\\.\\pipe\\gpm- name", a)
	}
	if b := pipeName(`c:\users\ANN\.gpm\.\gpm.sock`); b != a {
		t.Errorf("same path, other case and spelling: %q != %q", b, a)
	}
	if b := pipeName(`C:\Users\bob\.gpm\gpm.sock`); b == a {
		t.Errorf("two homes share pipe %q", a)
	}
	if b := pipeName(`C:\Users\ann\.gpm\notify-stream.sock`); b == a {
		t.Errorf("two sockets of one home share pipe %q", a)
	}
	if got := pipeName(`\\.\pipe\custom`); got != `\\.\pipe\custom` {
		t.Errorf("a pipe name is kept as it is: got %q", got)
	}
	if got := Address(`C:\Users\ann\.gpm\gpm.sock`); got != a {
		t.Errorf("Address = %q, want the pipe Listen makes, %q", got, a)
	}
}

func TestPipeSDDL(t *testing.T) {
	sddl, err := pipeSDDL()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(sddl, "D:P(A;;GA;;;BA)(A;;GA;;;SY)") {
		t.Errorf("SDDL %q: want a protected DACL for Administrators and SYSTEM first", sddl)
	}
	tok := windows.GetCurrentProcessToken()
	u, err := tok.GetTokenUser()
	if err != nil {
		t.Fatal(err)
	}
	hasUser := strings.Contains(sddl, u.User.Sid.String())
	if want := !tok.IsElevated() && !u.User.Sid.IsWellKnown(windows.WinLocalSystemSid); hasUser != want {
		t.Errorf("SDDL %q: admits the current user = %v, want %v", sddl, hasUser, want)
	}
	if _, err := windows.SecurityDescriptorFromString(sddl); err != nil {
		t.Errorf("SDDL %q does not parse: %v", sddl, err)
	}
}

func TestListenDial(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gpm.sock")
	if _, err := Dial(path, 200*time.Millisecond); !IsNotRunning(err) {
		t.Fatalf("Dial with no daemon: %v, want IsNotRunning", err)
	}
	ln, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if ln2, err := Listen(path); err == nil {
		ln2.Close()
		t.Fatal("a second Listen on the same path succeeded")
	}
	type result struct {
		line     string
		pid, uid int
		err      error
	}
	got := make(chan result, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- result{err: err}
			return
		}
		defer c.Close()
		var r result
		if r.pid, r.err = PeerPID(c); r.err == nil {
			r.uid, r.err = PeerUID(c)
		}
		r.line, _ = bufio.NewReader(c).ReadString('\n')
		c.Write([]byte("pong\n"))
		got <- r
	}()
	c, err := Dial(path, 2*time.Second)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer c.Close()
	c.Write([]byte("ping\n"))
	r := <-got
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.line != "ping\n" || r.pid != os.Getpid() || r.uid != 0 {
		t.Errorf("server saw %q from pid %d uid %d, want \"ping\\n\" from pid %d uid 0", r.line, r.pid, r.uid, os.Getpid())
	}
	if reply, _ := bufio.NewReader(c).ReadString('\n'); reply != "pong\n" {
		t.Errorf("client read %q", reply)
	}
	ln.Close()
	if _, err := Dial(path, 200*time.Millisecond); !IsNotRunning(err) {
		t.Errorf("Dial after Close: %v, want IsNotRunning", err)
	}
}

func TestLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "daemon.lock")
	f, err := Lock(path, false)
	if err != nil || f == nil {
		t.Fatalf("Lock: %v, %v", f, err)
	}
	if g, err := Lock(path, false); g != nil || err != nil {
		t.Fatalf("second Lock while held: %v, %v; want nil, nil", g, err)
	}
	got := make(chan *os.File)
	go func() {
		g, err := Lock(path, true)
		if err != nil {
			t.Error(err)
		}
		got <- g
	}()
	select {
	case <-got:
		t.Fatal("a waiting Lock returned while the lock was held")
	case <-time.After(100 * time.Millisecond):
	}
	f.Close()
	select {
	case g := <-got:
		if g == nil {
			t.Fatal("waiting Lock returned no file")
		}
		g.Close()
	case <-time.After(5 * time.Second):
		t.Fatal("a waiting Lock did not get the lock once released")
	}
}

func TestParseSignal(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want syscall.Signal
		ok   bool
	}{
		{"SIGINT", syscall.SIGINT, true},
		{"int", syscall.SIGINT, true},
		{"2", syscall.SIGINT, true},
		{"SIGTERM", syscall.SIGTERM, true},
		{" term ", syscall.SIGTERM, true},
		{"SIGKILL", syscall.SIGKILL, true},
		{"9", syscall.SIGKILL, true},
		{"SIGBREAK", sigBREAK, true},
		{"21", sigBREAK, true},
		{"SIGUSR2", 0, false},
		{"SIGHUP", 0, false},
		{"12", 0, false},
		{"SIGFOO", 0, false},
	} {
		got, err := ParseSignal(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseSignal(%q) = %v, %v; want %v, ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrUnsupported) {
			t.Errorf("ParseSignal(%q): %v does not wrap ErrUnsupported", tc.in, err)
		}
		if err == nil {
			if back, err := ParseSignal(SignalName(got)); err != nil || back != got {
				t.Errorf("SignalName(%v) = %q does not parse back", got, SignalName(got))
			}
		}
	}
}

// decodeEnv reads an environment block back into its strings.
func decodeEnv(p *uint16) []string {
	var out []string
	for {
		var s []uint16
		for ; *p != 0; p = (*uint16)(unsafe.Add(unsafe.Pointer(p), 2)) {
			s = append(s, *p)
		}
		if len(s) == 0 {
			return out
		}
		out = append(out, windows.UTF16ToString(s))
		p = (*uint16)(unsafe.Add(unsafe.Pointer(p), 2))
	}
}

func TestEnvBlock(t *testing.T) {
	b, err := envBlock([]string{"Path=a", "b=1", "PATH=c", "=C:=C:\\x", "A=é"})
	if err != nil {
		t.Fatal(err)
	}
	got := decodeEnv(b)
	want := []string{"=C:=C:\\x", "A=é", "b=1", "PATH=c"}
	if v, ok := os.LookupEnv("SYSTEMROOT"); ok {
		want = append(want, "SYSTEMROOT="+v)
	}
	if !slices.Equal(got, want) {
		t.Errorf("envBlock = %q, want %q", got, want)
	}
	if b, err := envBlock(nil); err != nil || len(decodeEnv(b)) > 1 {
		t.Errorf("envBlock(nil) = %q, %v", decodeEnv(b), err)
	}
	if _, err := envBlock([]string{"A=\x00"}); err == nil {
		t.Error("a NUL byte in the environment was accepted")
	}
}

func TestEnvKey(t *testing.T) {
	for in, want := range map[string]string{"A=b": "A", "A=b=c": "A", "=C:=C:\\": "=C:", "A": "A", "": ""} {
		if got := envKey(in); got != want {
			t.Errorf("envKey(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestStartRefusesWhatWindowsLacks(t *testing.T) {
	self, _ := os.Executable()
	if _, err := Start(&Cmd{Path: self, UID: 1000, GID: -1}); !errors.Is(err, ErrUnsupported) {
		t.Errorf("Start with a uid: %v, want ErrUnsupported", err)
	}
	if _, err := Start(&Cmd{Path: self, UID: -1, GID: -1, ExtraFiles: []*os.File{os.Stdin}}); !errors.Is(err, ErrUnsupported) {
		t.Errorf("Start with extra files: %v, want ErrUnsupported", err)
	}
	if _, err := Start(&Cmd{Path: filepath.Join(t.TempDir(), "missing.exe"), UID: -1, GID: -1}); err == nil {
		t.Error("Start of a missing executable succeeded")
	}
}

func TestStartReapsExitCode(t *testing.T) {
	pid, _ := startHelper(t, "exit:3")
	if e := waitExit(t, pid); e.Code != 3 || e.Signal != "" {
		t.Errorf("exit = %+v, want code 3", e)
	}
	eventually(t, "the group to be gone", func() bool { return !GroupAlive(pid) && !Alive(pid) })
}

func TestStartEnvAndDir(t *testing.T) {
	dir := t.TempDir()
	self, _ := os.Executable()
	r, w, _ := os.Pipe()
	defer r.Close()
	env := []string{helperEnv + "=env", "GPM_TEST_VAR=hello"} // no SYSTEMROOT: Start adds it
	pid, err := Start(&Cmd{Path: self, Args: []string{self}, Env: env, Dir: dir, Stdout: w, Stderr: w, UID: -1, GID: -1})
	w.Close()
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(r)
	waitExit(t, pid)
	f := strings.Split(strings.TrimSpace(string(out)), "|")
	if len(f) != 3 || f[0] != "hello" || !strings.EqualFold(filepath.Clean(f[1]), filepath.Clean(dir)) || f[2] == "" {
		t.Errorf("the app saw %q; want hello|%s|<SYSTEMROOT>", out, dir)
	}
}

func TestSignalGroupKillsTheTree(t *testing.T) {
	pid, out := startHelper(t, "tree")
	line, err := out.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	gc, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		t.Fatalf("helper said %q", line)
	}
	if d := Descendants(pid); !slices.Contains(d, gc) {
		t.Errorf("Descendants(%d) = %v, want it to hold the grandchild %d", pid, d, gc)
	}
	if d := treeBelow(pid); !slices.Contains(d, gc) {
		t.Errorf("treeBelow(%d) = %v, want it to hold the grandchild %d", pid, d, gc)
	}
	if pp := ParentPID(gc); pp != pid {
		t.Errorf("ParentPID(%d) = %d, want %d", gc, pp, pid)
	}
	if !GroupAlive(pid) || !Alive(pid) || !Alive(gc) {
		t.Fatal("the tree is not alive")
	}
	if err := SignalGroup(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if e := waitExit(t, pid); e.Code != -1 || e.Signal != "SIGKILL" {
		t.Errorf("exit = %+v, want killed by SIGKILL", e)
	}
	eventually(t, "the grandchild to die with the job", func() bool { return !GroupAlive(pid) && !Alive(gc) })
	if err := SignalGroup(pid, syscall.SIGKILL); err != nil {
		t.Errorf("SignalGroup to a group that is gone: %v", err)
	}
}

func TestLeaderExitLeavesGroupCounted(t *testing.T) {
	pid, out := startHelper(t, "tree")
	line, _ := out.ReadString('\n')
	gc, _ := strconv.Atoi(strings.TrimSpace(line))
	if err := Signal(pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if e := waitExit(t, pid); e.Signal != "SIGTERM" {
		t.Errorf("exit = %+v, want killed by SIGTERM", e)
	}
	if !GroupAlive(pid) || !Alive(gc) {
		t.Fatal("the grandchild should outlive its parent in the group")
	}
	if err := SignalGroup(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the group to empty", func() bool { return !GroupAlive(pid) && !Alive(gc) })
}

func TestSignalGroupCtrlBreak(t *testing.T) {
	if _, err := windows.GetConsoleCP(); err != nil {
		ensureConsole()
	}
	pid, out := startHelper(t, "interrupt")
	if line, _ := out.ReadString('\n'); line != "ready\n" {
		t.Fatalf("helper said %q", line)
	}
	if err := SignalGroup(pid, syscall.SIGINT); err != nil {
		t.Skipf("no console to deliver CTRL_BREAK on: %v", err)
	}
	if e := waitExit(t, pid); e.Code != 7 {
		t.Errorf("exit = %+v, want 7 (the app saw os.Interrupt)", e)
	}
}

func TestSignalRefusesCtrlBreakToAStranger(t *testing.T) {
	if err := Signal(os.Getpid(), syscall.SIGINT); !errors.Is(err, ErrUnsupported) {
		t.Errorf("SIGINT to a process gpm did not start: %v, want ErrUnsupported", err)
	}
}

func TestAlive(t *testing.T) {
	if !Alive(os.Getpid()) {
		t.Error("Alive(self) = false")
	}
	if Alive(0) || Alive(-1) {
		t.Error("Alive of pid 0 or -1")
	}
	if pp := ParentPID(os.Getpid()); pp != os.Getppid() && pp != 0 {
		t.Errorf("ParentPID(self) = %d, want %d (or 0 if the parent is gone)", pp, os.Getppid())
	}
}

func TestDetachedAttr(t *testing.T) {
	a := DetachedAttr()
	if a.CreationFlags&windows.CREATE_NO_WINDOW == 0 || a.CreationFlags&windows.CREATE_NEW_PROCESS_GROUP == 0 {
		t.Errorf("DetachedAttr flags %#x lack CREATE_NO_WINDOW|CREATE_NEW_PROCESS_GROUP", a.CreationFlags)
	}
}
