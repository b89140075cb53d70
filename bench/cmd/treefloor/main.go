//go:build linux

// Command treefloor is the machine's floor for issue 12's stop figure (bench/tree.sh, bench/cmd/stoplat): gpm's
// cgroup-mode stop with nothing else. For each run it starts the app (a script that prints "started" once its
// descendants run, the fixture bench/tree.sh writes) in a new cgroup v2 leaf, as the leader of a process group, from a
// child subreaper as gpm's daemon is; then:
//
//  1. the kill signal (SIGTERM) to the process group, which the app ignores;
//  2. kill_timeout later, "1" written to the leaf's cgroup.kill;
//  3. the end: the leader reaped and cgroup.events saying "populated 0", waited for with inotify on cgroup.events
//     (what gpm watches), the file read again after every event.
//
// The figure is the time from 1 to 3 minus kill_timeout, what stoplat reports for gpm (gpm's also holds a request
// over a unix socket, its bookkeeping and the reply); beside it the bare time from the cgroup.kill write to
// "populated 0" (the kernel killing the tree, and the event reaching a reader).
//
//	treefloor -script fifty.sh -descendants 50 -kill-timeout 1s -runs 5 [-parent /sys/fs/cgroup/unified]
//
// It prints one JSON object: every run's figures in milliseconds and their medians. Needs root (or a delegated
// parent cgroup).
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

type result struct {
	Runs       []float64 `json:"over_kill_timeout_ms"`
	MedianMS   float64   `json:"median_ms"`
	Kill       []float64 `json:"kill_to_empty_ms"`
	KillMedian float64   `json:"kill_to_empty_median_ms"`
	// KillCPU is the cpu time the tree itself spent dying (the leaf's cpu.stat usage_usec from cgroup.kill to
	// empty): a bound on the kill's wall time that the machine's load does not move (over the CPUs it can use).
	KillCPU       []float64 `json:"kill_cpu_ms"`
	KillCPUMedian float64   `json:"kill_cpu_median_ms"`
	Rmdir         []float64 `json:"rmdir_ms"` // the leaf's removal once empty (gpm's is inside its stop call)
	RmdirMedian   float64   `json:"rmdir_median_ms"`
	Rechecks      int       `json:"rechecks"` // ends found by the fallback re-read, not by an inotify event
	Parent        string    `json:"parent"`
	Descendants   int       `json:"descendants"`
}

// recheck is how long one wait for an inotify event lasts before cgroup.events is read anyway (gpm re-reads every
// 500 ms for an event that never came; a floor that hangs on one would say nothing).
const recheck = 500 * time.Millisecond

// spin: -spin.
var spin bool

func main() {
	script := flag.String("script", "", "the app: it prints \"started\" once its descendants run")
	kt := flag.Duration("kill-timeout", time.Second, "the grace between the kill signal and cgroup.kill")
	runs := flag.Int("runs", 5, "measured runs")
	desc := flag.Int("descendants", 50, "passed to the app as N: how many descendants it forks")
	flag.BoolVar(&spin, "spin", false, "read cgroup.events in a busy loop instead of waiting for inotify (to tell the kill's time from the event's delivery)")
	parent := flag.String("parent", "", "the cgroup v2 directory to make the leaf in (default: the cgroup v2 mount)")
	flag.Parse()
	if err := run(*script, *parent, *kt, *runs, *desc); err != nil {
		fmt.Fprintln(os.Stderr, "treefloor:", err)
		os.Exit(1)
	}
}

func run(script, parent string, kt time.Duration, runs, desc int) error {
	if parent == "" {
		for _, m := range []string{"/sys/fs/cgroup", "/sys/fs/cgroup/unified"} {
			var st unix.Statfs_t
			if unix.Statfs(m, &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
				parent = m
				break
			}
		}
		if parent == "" {
			return errors.New("no cgroup v2 mount")
		}
	}
	abs, err := filepath.Abs(script)
	if err != nil {
		return err
	}
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("subreaper: %w", err)
	}
	ifd, err := unix.InotifyInit1(unix.IN_CLOEXEC)
	if err != nil {
		return err
	}
	defer unix.Close(ifd)
	res := result{Parent: parent, Descendants: desc}
	for i := range runs {
		// A leaf per run, as gpm makes one per run: on this kernel (6.18) a child cloned into a cgroup that was
		// once killed through cgroup.kill is SIGKILLed at birth, so a leaf is never reused.
		leaf := filepath.Join(parent, "treefloor-"+strconv.Itoa(os.Getpid())+"-"+strconv.Itoa(i))
		t, err := once(abs, ifd, leaf, kt, desc)
		if err != nil {
			return err
		}
		res.Runs = append(res.Runs, ms(t.over))
		res.Kill = append(res.Kill, ms(t.kill))
		res.Rmdir = append(res.Rmdir, ms(t.rmdir))
		res.KillCPU = append(res.KillCPU, ms(t.killCPU))
		if t.rechecked {
			res.Rechecks++
		}
	}
	res.MedianMS, res.KillMedian, res.RmdirMedian = median(res.Runs), median(res.Kill), median(res.Rmdir)
	res.KillCPUMedian = median(res.KillCPU)
	return json.NewEncoder(os.Stdout).Encode(res)
}

// times is one run's figures.
type times struct {
	over, kill, rmdir time.Duration
	killCPU           time.Duration // the tree's cpu time (cpu.stat usage_usec) from cgroup.kill to empty
	rechecked         bool
}

// once makes leaf, starts the app in it, waits for "started", stops it and removes leaf. It returns the stop beyond
// kill_timeout, the time from cgroup.kill to "populated 0" and the rmdir's.
func once(script string, ifd int, leaf string, kt time.Duration, desc int) (t times, err error) {
	if err := os.Mkdir(leaf, 0o755); err != nil {
		return t, err
	}
	defer os.Remove(leaf) // after an error; a no-op after the timed rmdir
	dir, err := unix.Open(leaf, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return t, err
	}
	defer unix.Close(dir)
	events := filepath.Join(leaf, "cgroup.events")
	wd, err := unix.InotifyAddWatch(ifd, events, unix.IN_MODIFY)
	if err != nil {
		return t, err
	}
	defer unix.InotifyRmWatch(ifd, uint32(wd))
	r, w, err := os.Pipe()
	if err != nil {
		return t, err
	}
	env := append(os.Environ(), "N="+strconv.Itoa(desc))
	pid, err := syscall.ForkExec(script, []string{script}, &syscall.ProcAttr{
		Dir:   filepath.Dir(script),
		Env:   env,
		Files: []uintptr{0, w.Fd(), 2},
		Sys:   &syscall.SysProcAttr{Setpgid: true, UseCgroupFD: true, CgroupFD: dir},
	})
	w.Close()
	if err != nil {
		r.Close()
		return t, err
	}
	// Reap every child (the leader, then its orphans, which come to this subreaper) as gpm's daemon does; the
	// leader's exit is reported.
	leaderGone := make(chan time.Time, 1)
	reaped := make(chan struct{})
	go func() {
		defer close(reaped)
		for {
			var ws unix.WaitStatus
			p, err := unix.Wait4(-1, &ws, 0, nil)
			if err == unix.EINTR {
				continue
			}
			if err != nil {
				return // ECHILD: all reaped
			}
			if p == pid {
				leaderGone <- time.Now()
			}
		}
	}()
	buf := make([]byte, 4096)
	sc := bufio.NewScanner(r)
	started := false
	for sc.Scan() {
		if strings.Contains(sc.Text(), "started") {
			started = true
			break
		}
	}
	if !started {
		r.Close()
		return t, fmt.Errorf("%s never said started (%v)", script, sc.Err())
	}
	// stoplat polls the log every 20 ms for "started": the descendants have as long to settle here.
	time.Sleep(20 * time.Millisecond)
	// The start's "populated 1" event would only cost a read more; dropped all the same.
	drain(ifd, buf)

	t0 := time.Now()
	if err := unix.Kill(-pid, unix.SIGTERM); err != nil {
		r.Close()
		return t, err
	}
	time.Sleep(time.Until(t0.Add(kt)))
	cpu0 := usage(leaf)
	tk := time.Now()
	if err := os.WriteFile(filepath.Join(leaf, "cgroup.kill"), []byte("1"), 0); err != nil {
		r.Close()
		return t, err
	}
	var tEmpty time.Time
	for {
		if !populated(events) {
			tEmpty = time.Now()
			break
		}
		if spin {
			continue
		}
		fds := []unix.PollFd{{Fd: int32(ifd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, int(recheck/time.Millisecond))
		if err != nil && err != unix.EINTR {
			r.Close()
			return t, err
		}
		if n > 0 {
			unix.Read(ifd, buf)
		} else if err == nil {
			t.rechecked = true
		}
	}
	end := <-leaderGone
	if tEmpty.After(end) {
		end = tEmpty
	}
	r.Close()
	t.over, t.kill, t.killCPU = end.Sub(t0)-kt, tEmpty.Sub(tk), usage(leaf)-cpu0
	// The next run starts once every orphan was reaped: a reaper still in wait4 would take the next leader.
	<-reaped
	tr := time.Now()
	if err := os.Remove(leaf); err != nil {
		return t, err
	}
	t.rmdir = time.Since(tr)
	return t, nil
}

// usage is the leaf's cpu time so far (cpu.stat usage_usec, there without the cpu controller too).
func usage(leaf string) time.Duration {
	b, _ := os.ReadFile(filepath.Join(leaf, "cpu.stat"))
	_, rest, _ := strings.Cut(string(b), "usage_usec ")
	us, _ := strconv.ParseInt(strings.Fields(rest + " 0")[0], 10, 64)
	return time.Duration(us) * time.Microsecond
}

func populated(events string) bool {
	b, err := os.ReadFile(events)
	return err == nil && strings.Contains(string(b), "populated 1")
}

// drain reads whatever inotify events are queued without blocking.
func drain(ifd int, buf []byte) {
	for {
		fds := []unix.PollFd{{Fd: int32(ifd), Events: unix.POLLIN}}
		if n, _ := unix.Poll(fds, 0); n <= 0 {
			return
		}
		unix.Read(ifd, buf)
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}
