//go:build linux

// Command sdrestart measures `systemctl restart gpm` under load without systemd: it plays systemd's part the way
// e2e/systemd_test.go does. It owns a NOTIFY_SOCKET, keeps every fd the daemon sends with FDSTORE=1 (the fd store),
// and restarts the daemon as systemd would: SIGTERM, wait for it to exit, then start `gpm daemon --resurrect` again
// with the stored fds passed as LISTEN_FDS/LISTEN_FDNAMES through gpm's trampoline (`gpm __gpm_listen_exec`, which
// sets LISTEN_PID to the daemon's own pid).
//
// It starts an app with `gpm start APP -i N --wait-ready --listen web=tcp://127.0.0.1:PORT`, saves, runs the load
// generator (bench/cmd/loadgen, no keep-alive) against the port, restarts the daemon -restarts times, stops the
// load and prints the load generator's counts plus the time of each restart (SIGTERM → READY=1 of the new daemon).
//
//	go run ./bench/cmd/sdrestart -gpm bin/gpm -loadgen /tmp/loadgen -app e2e/testdata/cluster/app.js -port 18080
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gpmd/gpm/client"
)

type fakeSystemd struct {
	path string
	conn *net.UnixConn

	mu     sync.Mutex
	msgs   []string
	stored map[string]*os.File
}

func (s *fakeSystemd) serve() {
	buf, oob := make([]byte, 4096), make([]byte, 4096)
	for {
		n, oobn, _, _, err := s.conn.ReadMsgUnix(buf, oob)
		if err != nil {
			return
		}
		msg := string(buf[:n])
		var fds []int
		if cmsgs, err := unix.ParseSocketControlMessage(oob[:oobn]); err == nil {
			for _, c := range cmsgs {
				if got, err := unix.ParseUnixRights(&c); err == nil {
					fds = append(fds, got...)
				}
			}
		}
		fields := map[string]string{}
		for _, l := range strings.Split(msg, "\n") {
			if k, v, ok := strings.Cut(l, "="); ok {
				fields[k] = v
			}
		}
		s.mu.Lock()
		s.msgs = append(s.msgs, msg)
		switch {
		case fields["FDSTORE"] == "1" && len(fds) == 1:
			if old := s.stored[fields["FDNAME"]]; old != nil {
				old.Close()
			}
			s.stored[fields["FDNAME"]] = os.NewFile(uintptr(fds[0]), fields["FDNAME"])
		case fields["FDSTOREREMOVE"] == "1":
			if f := s.stored[fields["FDNAME"]]; f != nil {
				f.Close()
				delete(s.stored, fields["FDNAME"])
			}
		default:
			for _, fd := range fds {
				unix.Close(fd)
			}
		}
		s.mu.Unlock()
	}
}

func (s *fakeSystemd) count(line string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, m := range s.msgs {
		for _, l := range strings.Split(m, "\n") {
			if l == line {
				n++
			}
		}
	}
	return n
}

func (s *fakeSystemd) nstored() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.stored)
}

// start runs the daemon as a Type=notify unit with FileDescriptorStoreMax= would.
func (s *fakeSystemd) start(gpm, home string, log *os.File) (*exec.Cmd, error) {
	s.mu.Lock()
	var names []string
	var files []*os.File
	for name, f := range s.stored {
		names = append(names, name)
		files = append(files, f)
	}
	s.mu.Unlock()
	args := []string{"daemon", "--resurrect"}
	cmd := exec.Command(gpm, args...)
	if len(files) > 0 {
		cmd = exec.Command(gpm, append([]string{"__gpm_listen_exec", gpm, gpm}, args...)...)
	}
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "GPM_HOME", "NOTIFY_SOCKET", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES":
			continue
		}
		env = append(env, kv)
	}
	cmd.Env = append(env, "GPM_HOME="+home, "NOTIFY_SOCKET="+s.path)
	if len(files) > 0 {
		cmd.Env = append(cmd.Env, fmt.Sprintf("LISTEN_FDS=%d", len(files)), "LISTEN_FDNAMES="+strings.Join(names, ":"))
		cmd.ExtraFiles = files
	}
	cmd.Stdout, cmd.Stderr = log, log
	return cmd, cmd.Start()
}

func waitFor(d time.Duration, what string, f func() bool) error {
	deadline := time.Now().Add(d)
	for !f() {
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(2 * time.Millisecond)
	}
	return nil
}

func main() {
	gpm := flag.String("gpm", "bin/gpm", "the gpm binary")
	loadgen := flag.String("loadgen", "", "the bench/cmd/loadgen binary")
	app := flag.String("app", "e2e/testdata/cluster/app.js", "the worker")
	port := flag.Int("port", 18090, "port the app listens on")
	instances := flag.Int("i", 2, "workers")
	conns := flag.Int("c", 8, "load generator connections")
	restarts := flag.Int("restarts", 10, "daemon restarts")
	gap := flag.Duration("gap", time.Second, "load between restarts")
	flag.Parse()
	if err := run(*gpm, *loadgen, *app, *port, *instances, *conns, *restarts, *gap); err != nil {
		fmt.Fprintln(os.Stderr, "sdrestart:", err)
		os.Exit(1)
	}
}

func run(gpm, loadgen, app string, port, instances, conns, restarts int, gap time.Duration) error {
	var err error
	if gpm, err = filepath.Abs(gpm); err != nil {
		return err
	}
	if app, err = filepath.Abs(app); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "gpm-sdrestart-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	home := filepath.Join(dir, "home")
	if err := os.MkdirAll(home, 0o700); err != nil {
		return err
	}
	sd := &fakeSystemd{path: filepath.Join(dir, "notify"), stored: map[string]*os.File{}}
	if sd.conn, err = net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sd.path, Net: "unixgram"}); err != nil {
		return err
	}
	defer sd.conn.Close()
	go sd.serve()
	log, err := os.Create(filepath.Join(home, "daemon-bench.log"))
	if err != nil {
		return err
	}
	defer log.Close()

	daemon, err := sd.start(gpm, home, log)
	if err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() { daemon.Wait(); close(exited) }()
	defer func() {
		if c, err := client.Dial(context.Background(), home); err == nil {
			c.Kill(context.Background())
			c.Close()
		}
		daemon.Process.Signal(syscall.SIGTERM)
	}()
	if err := waitFor(10*time.Second, "READY=1", func() bool { return sd.count("READY=1") == 1 }); err != nil {
		return err
	}
	gpmCmd := func(args ...string) error {
		c := exec.Command(gpm, args...)
		c.Env = append(os.Environ(), "GPM_HOME="+home)
		out, err := c.CombinedOutput()
		if err != nil {
			return fmt.Errorf("gpm %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	if err := gpmCmd("start", app, "--name", "web", "-i", fmt.Sprint(instances), "--wait-ready",
		"--listen", fmt.Sprintf("web=tcp://127.0.0.1:%d", port)); err != nil {
		return err
	}
	if err := waitFor(5*time.Second, "the socket in the fd store", func() bool { return sd.nstored() == 1 }); err != nil {
		return err
	}
	if err := gpmCmd("save"); err != nil {
		return err
	}

	lg := exec.Command(loadgen, "-addr", fmt.Sprintf("127.0.0.1:%d", port), "-c", fmt.Sprint(conns), "-d", "0")
	var lgOut bytes.Buffer
	lg.Stdout, lg.Stderr = &lgOut, os.Stderr
	if err := lg.Start(); err != nil {
		return err
	}
	time.Sleep(gap)
	var took []time.Duration
	for r := 0; r < restarts; r++ {
		ready := sd.count("READY=1")
		t0 := time.Now()
		if err := daemon.Process.Signal(syscall.SIGTERM); err != nil {
			return err
		}
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			return fmt.Errorf("restart %d: the daemon did not exit within 30s of SIGTERM", r+1)
		}
		if daemon, err = sd.start(gpm, home, log); err != nil {
			return err
		}
		exited = make(chan struct{})
		go func(d *exec.Cmd, ch chan struct{}) { d.Wait(); close(ch) }(daemon, exited)
		if err := waitFor(30*time.Second, "READY=1 of the new daemon", func() bool { return sd.count("READY=1") > ready }); err != nil {
			return fmt.Errorf("restart %d: %w", r+1, err)
		}
		took = append(took, time.Since(t0))
		time.Sleep(gap)
	}
	lg.Process.Signal(syscall.SIGINT)
	if err := lg.Wait(); err != nil {
		return fmt.Errorf("loadgen: %v", err)
	}
	var load map[string]any
	if err := json.Unmarshal(lgOut.Bytes(), &load); err != nil {
		return fmt.Errorf("loadgen output: %v: %s", err, lgOut.String())
	}
	logText, _ := os.ReadFile(filepath.Join(home, "daemon-bench.log"))
	sorted := slices.Clone(took)
	slices.Sort(sorted)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	var each []float64
	for _, d := range took {
		each = append(each, ms(d))
	}
	out := map[string]any{
		"restarts":                  restarts,
		"restart_ms_each":           each,
		"restart_ms_median":         ms(sorted[len(sorted)/2]),
		"restart_ms_max":            ms(sorted[len(sorted)-1]),
		"sockets_from_fd_store_log": strings.Count(string(logText), "1 from the fd store"),
		"load":                      load,
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
