// Command floor holds the minimal programs that bench/all.sh measures beside gpm, PM2 and supervisor: what the
// machine can do at all for each figure, measured in the same run. Each subcommand does one manager's job with
// nothing else, and prints one figure per line (milliseconds unless it says otherwise):
//
//	floor spawn -n 50 -par 1 -runs 5 -- PROG ARGS   fork/exec N copies of PROG (par 1: one after another; par 0: one
//	                                               goroutine per CPU), the time until every exec has succeeded
//	floor serve -sock PATH -size N                 a unix-socket server answering every request line with N bytes
//	floor call -sock PATH                          one request, one answer, exit: the floor of a CLI call (ls, jlist)
//	floor respawn [-notify SOCK] -- PROG ARGS      a bare wait4-and-respawn loop around one child; with -notify it
//	                                               also tells a subscriber on the unix socket SOCK each new pid, once
//	                                               its exec has succeeded (what a manager's "online" event is)
//	floor restartlat -sock SOCK -runs R            subscribe to respawn -notify, kill -9 its child, the ms until the
//	                                               new pid arrives: the floor of gpm's kill -9 -> online event
//	floor killwatch -parent PID -match S -runs R   kill -9 a child of PID whose command line holds S, the time until a
//	                                               new child of PID appears (busy-polls /proc/PID/task/*/children);
//	                                               the same measurement for gpm, PM2, supervisor and respawn
//	floor startwait -parent PID|-pidfile F -match S -n N -- CMD ARGS
//	                                               run CMD (a manager's start, or supervisord itself with -parent 0)
//	                                               and busy-poll until N children of the manager hold S in their
//	                                               command line; prints the ms until then and the ms CMD took
//	floor pump -out FILE -bytes N [-until MARK] -- PROG ARGS
//	                                               a log pump with nothing else: PROG's stdout read 64 KiB at a time
//	                                               and written to FILE until it holds N bytes (and MARK exists);
//	                                               prints its own CPU seconds (utime+stime) and leaves PROG running
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: floor spawn|serve|call|respawn|restartlat|killwatch|startwait|pump [flags] [-- PROG ARGS]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	var err error
	switch os.Args[1] {
	case "spawn":
		n := fs.Int("n", 50, "processes")
		par := fs.Int("par", 1, "spawning goroutines (0: one per CPU)")
		runs := fs.Int("runs", 5, "runs")
		fs.Parse(os.Args[2:])
		err = spawn(*n, *par, *runs, fs.Args())
	case "serve":
		sock := fs.String("sock", "", "socket path")
		size := fs.Int("size", 10000, "answer size in bytes")
		fs.Parse(os.Args[2:])
		err = serve(*sock, *size)
	case "call":
		sock := fs.String("sock", "", "socket path")
		fs.Parse(os.Args[2:])
		err = call(*sock)
	case "respawn":
		notify := fs.String("notify", "", "unix socket to tell a subscriber each new pid on")
		fs.Parse(os.Args[2:])
		err = respawn(*notify, fs.Args())
	case "restartlat":
		sock := fs.String("sock", "", "respawn's -notify socket")
		runs := fs.Int("runs", 10, "measured runs (after one warm-up)")
		gap := fs.Duration("gap", 300*time.Millisecond, "pause between runs")
		fs.Parse(os.Args[2:])
		err = restartlat(*sock, *runs, *gap)
	case "killwatch":
		parent := fs.Int("parent", 0, "pid of the manager")
		match := fs.String("match", "", "substring of the victim's command line")
		runs := fs.Int("runs", 10, "measured runs (after one warm-up)")
		gap := fs.Duration("gap", 1200*time.Millisecond, "pause between runs (above the managers' min_uptime)")
		fs.Parse(os.Args[2:])
		err = killwatch(*parent, *match, *runs, *gap)
	case "startwait":
		parent := fs.Int("parent", 0, "pid of the manager (0: CMD itself, or the pid in -pidfile)")
		pidfile := fs.String("pidfile", "", "read the manager's pid from this file once it exists")
		match := fs.String("match", "", "substring of an app's command line")
		n := fs.Int("n", 50, "apps")
		fs.Parse(os.Args[2:])
		err = startwait(*parent, *pidfile, *match, *n, fs.Args())
	case "pump":
		out := fs.String("out", "", "log file")
		want := fs.Int64("bytes", 0, "stop once the file holds this many bytes")
		until := fs.String("until", "", "then go on reading until this file exists (the writer's end mark), at most 10 s")
		fs.Parse(os.Args[2:])
		err = pump(*out, *want, *until, fs.Args())
	default:
		err = fmt.Errorf("unknown subcommand %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "floor %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 3, 64)
}

// spawn: exec.Cmd.Start returns once the child has exec'd (it waits for the CLOEXEC pipe), which is what a manager
// calls "online" for an app without a readiness signal.
func spawn(n, par, runs int, argv []string) error {
	if len(argv) == 0 {
		return errors.New("no program")
	}
	if par <= 0 {
		par = runtime.NumCPU()
	}
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		return err
	}
	for r := 0; r < runs; r++ {
		cmds := make([]*exec.Cmd, n)
		for i := range cmds {
			cmds[i] = exec.Command(argv[0], argv[1:]...)
			cmds[i].Stdin, cmds[i].Stdout, cmds[i].Stderr = devnull, devnull, devnull
		}
		var wg sync.WaitGroup
		errs := make(chan error, n)
		t0 := time.Now()
		for w := 0; w < par; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < n; i += par {
					if err := cmds[i].Start(); err != nil {
						errs <- err
					}
				}
			}()
		}
		wg.Wait()
		el := time.Since(t0)
		for _, c := range cmds {
			if c.Process != nil {
				c.Process.Kill()
				c.Wait()
			}
		}
		select {
		case err := <-errs:
			return err
		default:
		}
		fmt.Println(ms(el))
		time.Sleep(200 * time.Millisecond)
	}
	return nil
}

func serve(sock string, size int) error {
	os.Remove(sock)
	l, err := net.Listen("unix", sock)
	if err != nil {
		return err
	}
	answer := append(bytes.Repeat([]byte{'x'}, size), '\n')
	go func() {
		c := make(chan os.Signal, 1)
		signal.Notify(c, syscall.SIGTERM, syscall.SIGINT)
		<-c
		l.Close()
	}()
	for {
		c, err := l.Accept()
		if err != nil {
			os.Remove(sock)
			return nil
		}
		go func() {
			defer c.Close()
			br := bufio.NewReader(c)
			for {
				if _, err := br.ReadSlice('\n'); err != nil {
					return
				}
				if _, err := c.Write(answer); err != nil {
					return
				}
			}
		}()
	}
}

func call(sock string) error {
	c, err := net.Dial("unix", sock)
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.Write([]byte(`{"cmd":"jlist"}` + "\n")); err != nil {
		return err
	}
	br := bufio.NewReaderSize(c, 64<<10)
	for {
		_, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		return err
	}
}

func respawn(notify string, argv []string) error {
	if len(argv) == 0 {
		return errors.New("no program")
	}
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM, syscall.SIGINT)
	var mu sync.Mutex
	var cur *os.Process
	go func() {
		<-term
		mu.Lock()
		if cur != nil {
			cur.Kill()
		}
		os.Exit(0)
	}()
	// With -notify, one subscriber at a time hears each new pid, as a line, once its exec has succeeded: the least a
	// manager does to tell another program that an app is back.
	var sub net.Conn
	if notify != "" {
		l, err := net.Listen("unix", notify)
		if err != nil {
			return err
		}
		defer l.Close()
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				mu.Lock()
				sub = c
				if cur != nil {
					fmt.Fprintf(c, "%d\n", cur.Pid)
				}
				mu.Unlock()
			}
		}()
	}
	for {
		c := exec.Command(argv[0], argv[1:]...)
		mu.Lock()
		err := c.Start()
		cur = c.Process
		if err == nil && sub != nil {
			fmt.Fprintf(sub, "%d\n", cur.Pid)
		}
		mu.Unlock()
		if err != nil {
			return err
		}
		c.Wait()
	}
}

// restartlat kills respawn's child and waits for respawn -notify to tell the new pid, runs+1 times (the first is
// a warm-up), and prints the milliseconds of each measured run.
func restartlat(sock string, runs int, gap time.Duration) error {
	c, err := net.Dial("unix", sock)
	if err != nil {
		return err
	}
	defer c.Close()
	r := bufio.NewReader(c)
	next := func() (int, error) {
		line, err := r.ReadString('\n')
		if err != nil {
			return 0, err
		}
		return strconv.Atoi(strings.TrimSpace(line))
	}
	pid, err := next()
	if err != nil {
		return err
	}
	for i := 0; i <= runs; i++ {
		t0 := time.Now()
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			return fmt.Errorf("kill %d: %w", pid, err)
		}
		if pid, err = next(); err != nil {
			return err
		}
		if i > 0 {
			fmt.Println(ms(time.Since(t0)))
		}
		time.Sleep(gap)
	}
	return nil
}

// children: the pids of every child of pid (each thread has its own list).
func children(pid int) []int {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	var out []int
	for _, t := range tasks {
		b, _ := os.ReadFile(t)
		for _, f := range strings.Fields(string(b)) {
			if p, err := strconv.Atoi(f); err == nil {
				out = append(out, p)
			}
		}
	}
	return out
}

func killwatch(parent int, match string, runs int, gap time.Duration) error {
	for r := 0; r <= runs; r++ {
		time.Sleep(gap)
		before := children(parent)
		victim := 0
		for _, p := range before {
			b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", p))
			if strings.Contains(string(b), match) {
				victim = p
				break
			}
		}
		if victim == 0 {
			return fmt.Errorf("no child of %d matches %q", parent, match)
		}
		t0 := time.Now()
		if err := syscall.Kill(victim, syscall.SIGKILL); err != nil {
			return err
		}
		for {
			now := children(parent)
			if slices.ContainsFunc(now, func(p int) bool { return !slices.Contains(before, p) }) {
				break
			}
			if time.Since(t0) > 10*time.Second {
				return fmt.Errorf("no new child of %d within 10 s", parent)
			}
		}
		if r > 0 { // the first run is a warm-up
			fmt.Println(ms(time.Since(t0)))
		}
	}
	return nil
}

func pump(out string, want int64, until string, argv []string) error {
	if len(argv) == 0 {
		return errors.New("no program")
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer f.Close()
	c := exec.Command(argv[0], argv[1:]...)
	r, err := c.StdoutPipe()
	if err != nil {
		return err
	}
	// The pipe as large as the machine allows (1 MiB by default), as gpm makes a chatty app's: the floor is the least
	// the writer can be made to wait.
	if rc, err := r.(*os.File).SyscallConn(); err == nil {
		rc.Control(func(fd uintptr) { unix.FcntlInt(fd, unix.F_SETPIPE_SZ, 1<<20) })
	}
	if err := c.Start(); err != nil {
		return err
	}
	// The writer is left running (bench/all.sh reads its schedstat, then kills it) unless this fails.
	ok := false
	defer func() {
		if !ok {
			c.Process.Kill()
			c.Wait()
		}
	}()
	buf := make([]byte, 64<<10)
	var n int64
	var deadline time.Time
	for {
		if n >= want {
			// The writer may still have its end mark to write: keep its stdout drained until it has.
			if deadline.IsZero() {
				deadline = time.Now().Add(10 * time.Second)
			}
			if _, err := os.Stat(until); until == "" || err == nil || time.Now().After(deadline) {
				break
			}
			r.(*os.File).SetReadDeadline(time.Now().Add(5 * time.Millisecond))
		}
		k, err := r.Read(buf)
		if k > 0 {
			if _, err := f.Write(buf[:k]); err != nil {
				return err
			}
			n += int64(k)
		}
		if err == io.EOF {
			break
		} else if errors.Is(err, os.ErrDeadlineExceeded) {
			continue
		} else if err != nil {
			return err
		}
	}
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	fmt.Printf("%.3f\n", cpu.Seconds())
	ok = true
	return nil
}

// countMatching counts the children of parent that hold match in their command line; seen caches the pids found
// so (a child's command line changes only at exec, from the manager's to the app's).
func countMatching(parent int, match string, seen map[int]bool) int {
	k := 0
	for _, p := range children(parent) {
		if !seen[p] {
			b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", p))
			seen[p] = strings.Contains(string(b), match)
		}
		if seen[p] {
			k++
		}
	}
	return k
}

func startwait(parent int, pidfile, match string, n int, argv []string) error {
	if len(argv) == 0 {
		return errors.New("no command")
	}
	c := exec.Command(argv[0], argv[1:]...)
	// stdout to /dev/null (nil), not to a pipe of ours: supervisord outlives this program and would get EPIPE.
	c.Stderr = os.Stderr
	t0 := time.Now()
	if err := c.Start(); err != nil {
		return err
	}
	done := make(chan time.Duration, 1)
	go func() { c.Wait(); done <- time.Since(t0) }()
	if parent == 0 && pidfile == "" {
		parent = c.Process.Pid
	}
	var cmdTime time.Duration = -1
	seen := map[int]bool{}
	for {
		if parent == 0 {
			if b, err := os.ReadFile(pidfile); err == nil {
				parent, _ = strconv.Atoi(strings.TrimSpace(string(b)))
			}
		}
		if parent != 0 && countMatching(parent, match, seen) >= n {
			break
		}
		select {
		case cmdTime = <-done:
		default:
		}
		if time.Since(t0) > 5*time.Minute {
			return fmt.Errorf("%d children holding %q not there after 5 min", n, match)
		}
		time.Sleep(time.Millisecond)
	}
	all := time.Since(t0)
	if cmdTime < 0 && parent != c.Process.Pid {
		cmdTime = <-done
	}
	fmt.Println(ms(all), ms(cmdTime))
	return nil
}
