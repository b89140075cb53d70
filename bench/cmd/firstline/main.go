//go:build linux

// Command firstline measures how long a command takes to print its first line on stdout, from the moment it is
// started: run N times, each ended with SIGTERM (and waited for) before the next. With -rss it also samples, once the
// line is there and -settle has passed, the memory of the command's own process (not its children): VmRSS, RssAnon
// and Pss from /proc. bench/run-overhead.sh runs it on an app alone and on `gpm run` of the same app.
//
// With -memcg PARENT each run is started in a memory cgroup of its own made under PARENT (a cgroup v2 directory with
// the memory controller, or a v1 memory hierarchy's), and the memory the kernel charges to it is read at the same
// moment: usage, anonymous and file (page cache) memory. That is what a container's memory limit and its OOM
// killer count. With -evict FILE[,FILE...], the files' pages are dropped from the page cache before each run
// (posix_fadvise DONTNEED), so that the run reads them in and is charged for them: the first container on a node
// to run a binary, against the others, which share its cached pages.
//
//	firstline [-n 20] [-settle 2s] [-rss] [-contains TEXT] [-homes DIR] [-kill] [-child] [-memcg DIR [-evict FILE,...]] -- command args...
//
// It prints one line of KEY=VALUE figures: median and p90 in ms, and with -rss the median of each memory figure in kB.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

func main() {
	n := flag.Int("n", 20, "runs")
	settle := flag.Duration("settle", 2*time.Second, "with -rss: wait this long after the first line before reading memory")
	rss := flag.Bool("rss", false, "sample the command's memory")
	contains := flag.String("contains", "", "the first line that contains this (default: any line)")
	kill := flag.Bool("kill", false, "end each run with SIGKILL, not SIGTERM (a program that is PID 1 of a namespace ignores SIGTERM it has no handler for)")
	child := flag.Bool("child", false, "with -rss: sample the command's first child instead (unshare --fork's: the namespace's PID 1)")
	homes := flag.String("homes", "", "give each run GPM_HOME=<this directory>/run-N (a run's gpm may still be stopping when the next starts)")
	memcg := flag.String("memcg", "", "with -rss: run each in a memory cgroup of its own under this directory, and read what it is charged")
	evict := flag.String("evict", "", "with -memcg: drop these files' pages (comma-separated) from the page cache before each run")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: firstline [-n N] [-rss] [-settle D] [-contains TEXT] -- command args...")
		os.Exit(2)
	}
	var lat []float64
	mem := map[string][]float64{}
	for i := range *n {
		var env []string
		if *homes != "" {
			env = append(os.Environ(), fmt.Sprintf("GPM_HOME=%s/run-%d", *homes, i))
		}
		argv := flag.Args()
		var cg string
		if *memcg != "" {
			var err error
			if cg, argv, err = inCgroup(*memcg, i, argv, *evict); err != nil {
				fmt.Fprintln(os.Stderr, "firstline:", err)
				os.Exit(1)
			}
		}
		ms, m, err := once(argv, env, *contains, *rss, *settle, *kill, *child, cg)
		if err != nil {
			fmt.Fprintln(os.Stderr, "firstline:", err)
			os.Exit(1)
		}
		lat = append(lat, ms)
		for k, v := range m {
			mem[k] = append(mem[k], v)
		}
	}
	out := []string{fmt.Sprintf("runs=%d median_ms=%.1f p90_ms=%.1f", *n, pct(lat, 50), pct(lat, 90))}
	for _, k := range []string{"VmRSS", "RssAnon", "RssFile", "Pss", "cg", "cg_anon", "cg_file"} {
		if v := mem[k]; len(v) > 0 {
			out = append(out, fmt.Sprintf("%s_kB=%.0f", k, pct(v, 50)))
		}
	}
	fmt.Println(strings.Join(out, " "))
}

func once(argv, env []string, contains string, rss bool, settle time.Duration, kill, child bool, cg string) (float64, map[string]float64, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = env
	// Its own process group, signalled whole: unshare --fork does not pass a signal on to its child.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return 0, nil, err
	}
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, nil, err
	}
	defer func() {
		sig := syscall.SIGTERM
		if kill {
			sig = syscall.SIGKILL
		}
		syscall.Kill(-cmd.Process.Pid, sig)
		cmd.Wait()
		if cg != "" {
			removeCgroup(cg)
		}
	}()
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if !strings.Contains(sc.Text(), contains) {
			continue
		}
		ms := float64(time.Since(t0).Microseconds()) / 1000
		// The rest of the output is read (and dropped) so that the command never blocks on a full pipe.
		go func() {
			for sc.Scan() {
			}
		}()
		if !rss {
			return ms, nil, nil
		}
		time.Sleep(settle)
		pid := cmd.Process.Pid
		if child {
			if pid = firstChild(pid); pid == 0 {
				return 0, nil, fmt.Errorf("%s has no child to sample", argv[0])
			}
		}
		m, err := memory(pid)
		if err == nil && cg != "" {
			err = charged(cg, m)
		}
		return ms, m, err
	}
	return 0, nil, fmt.Errorf("%s exited without printing a line with %q", argv[0], contains)
}

// memory reads VmRSS, RssAnon and RssFile (status) and Pss (smaps_rollup) of pid, in kB.
func memory(pid int) (map[string]float64, error) {
	m := map[string]float64{}
	for _, f := range []string{"status", "smaps_rollup"} {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/%s", pid, f))
		if err != nil {
			return nil, err
		}
		for _, l := range strings.Split(string(b), "\n") {
			k, v, ok := strings.Cut(l, ":")
			if !ok {
				continue
			}
			switch k {
			case "VmRSS", "RssAnon", "RssFile", "Pss":
				if n, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64); err == nil {
					m[k] = n
				}
			}
		}
	}
	return m, nil
}

// firstChild is the first child of pid, 0 if none.
func firstChild(pid int) int {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	for _, t := range tasks {
		b, _ := os.ReadFile(t)
		if f := strings.Fields(string(b)); len(f) > 0 {
			n, _ := strconv.Atoi(f[0])
			return n
		}
	}
	return 0
}

// pct is the p-th percentile of v (nearest rank).
func pct(v []float64, p int) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100
	return s[max(i-1, 0)]
}

// inCgroup makes run i's memory cgroup under parent and returns it with argv wrapped to start there: a shell moves
// itself in and execs the command, so that nothing of the command's is charged before it is in (a process's
// charges do not move with it). With evict, that file's cached pages are dropped first.
func inCgroup(parent string, i int, argv []string, evict string) (string, []string, error) {
	dir := filepath.Join(parent, fmt.Sprintf("firstline-%d-%d", os.Getpid(), i))
	if err := os.Mkdir(dir, 0o755); err != nil {
		return "", nil, fmt.Errorf("memory cgroup: %w", err)
	}
	for name := range strings.SplitSeq(evict, ",") {
		if name == "" {
			continue
		}
		f, err := os.Open(name)
		if err != nil {
			return "", nil, err
		}
		err = unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
		f.Close()
		if err != nil {
			return "", nil, fmt.Errorf("evict %s: %w", name, err)
		}
	}
	wrap := append([]string{"/bin/sh", "-c", `echo $$ >"$0/cgroup.procs" && exec "$@"`, dir}, argv...)
	return dir, wrap, nil
}

// charged adds what cgroup dir is charged, in kB: cg (memory.current, v1's usage_in_bytes), cg_anon and cg_file
// (memory.stat's anon and file, v1's rss and cache).
func charged(dir string, m map[string]float64) error {
	usage, err := os.ReadFile(filepath.Join(dir, "memory.current"))
	if os.IsNotExist(err) {
		usage, err = os.ReadFile(filepath.Join(dir, "memory.usage_in_bytes"))
	}
	if err != nil {
		return err
	}
	n, err := strconv.ParseFloat(strings.TrimSpace(string(usage)), 64)
	if err != nil {
		return err
	}
	m["cg"] = n / 1024
	stat, err := os.ReadFile(filepath.Join(dir, "memory.stat"))
	if err != nil {
		return err
	}
	for _, l := range strings.Split(string(stat), "\n") {
		k, v, _ := strings.Cut(l, " ")
		n, err := strconv.ParseFloat(v, 64)
		if err != nil {
			continue
		}
		switch k {
		case "anon", "rss": // v2, v1
			m["cg_anon"] = n / 1024
		case "file", "cache":
			m["cg_file"] = n / 1024
		}
	}
	return nil
}

// removeCgroup removes a run's cgroup once its processes are gone (they may still be exiting after the wait: gpm
// run's apps are not its children's children only), for up to 10 s.
func removeCgroup(dir string) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := os.Remove(dir)
		if err == nil || time.Now().After(deadline) {
			if err != nil {
				fmt.Fprintln(os.Stderr, "firstline: leaving", dir, err)
			}
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}
