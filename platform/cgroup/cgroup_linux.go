package cgroup

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gpmd/gpm/internal/rawfile"
)

// Where cgroup v2 is mounted: the whole of /sys/fs/cgroup on a unified host, or its unified/ directory on a hybrid
// one (systemd < 256 with cgroup v1 controllers and the v2 hierarchy beside them).
var mounts = []string{"/sys/fs/cgroup", "/sys/fs/cgroup/unified"}

// daemonLeaf is the daemon's own cgroup inside a delegated subtree.
const daemonLeaf = "daemon"

// maxFileBytes bounds what is read of one cgroup interface file (cgroup.procs of a fork bomb is the largest).
const maxFileBytes = 1 << 20

// Hierarchy is the subtree of the cgroup v2 hierarchy that this daemon writes. Its methods may be called from any
// goroutine.
type Hierarchy struct {
	mount   string // where cgroup2 is mounted
	path    string // the subtree, absolute (under mount)
	why     string // how the subtree was chosen, for describe
	own     bool   // created by gpm (root mode): removed at Close when empty
	enabled []string

	// inotify is read through the runtime's poller, so that Close ends the read; its calls use ifd (File.Fd would
	// switch the descriptor to blocking mode, and a blocked read would never end).
	inotify *os.File
	ifd     int
	mu      sync.Mutex
	watches map[int]func()  // by inotify watch descriptor
	inUse   map[string]bool // cgroup names held by a Group
	done    chan struct{}   // closed when the inotify reader ended

	// fdBudget bounds the descriptors the Groups' Usage keeps open (fdsHeld): a quarter of RLIMIT_NOFILE, so that
	// the sampler never takes the descriptors the apps' pipes and the control connections need.
	fdBudget int64
	fdsHeld  atomic.Int64
}

// Group is one app process's cgroup.
type Group struct {
	h    *Hierarchy
	name string
	path string
	dir  int // O_PATH descriptor: what clone3 (CLONE_INTO_CGROUP) starts the child in
	wd   int // inotify watch of cgroup.events; -1 none

	// What Usage keeps between calls (the sampler calls it for every app every interval): the interface files
	// open, and the last memory figure, which Usage reuses while the cgroup's cpu time has not moved.
	mu      sync.Mutex
	removed bool
	files   *usageFiles // nil until the first Usage
}

// usageFiles are the descriptors Usage reads with pread(2) at offset 0 (the kernel regenerates a cgroup or /proc
// file's text at each read from its start), instead of an open, a read and a close of each file every interval.
// A descriptor is held only within the Hierarchy's budget (holdFD): past it, the file is opened at each read.
type usageFiles struct {
	h                     *Hierarchy
	dir                   string
	cpuFD, memFD, procsFD int           // cpu.stat, memory.current, cgroup.procs; -1: not held
	hasMem                bool          // memory.current is there (the memory controller is on)
	statm                 map[int]int   // pid -> /proc/PID/statm, for the processes of cgroup.procs (at most maxStatmFDs)
	cpuSeen               time.Duration // usage_usec at the last reading of the memory through cgroup.procs
	mem                   uint64        // that reading
	memAt                 time.Time     // when it was read; zero: never
}

// Open finds the cgroup v2 subtree this daemon may write for GPM_HOME home, makes it, moves the daemon into a leaf
// of its own when the subtree is the daemon's own cgroup, and enables the cpu, memory and pids controllers it was
// given. An error says why cgroups cannot be used (for describe): no cgroup v2 hierarchy, a cgroup not delegated to
// a non-root daemon, or a write refused.
func Open(home string) (*Hierarchy, error) {
	mount := ""
	for _, m := range mounts {
		var st unix.Statfs_t
		if unix.Statfs(m, &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
			mount = m
			break
		}
	}
	if mount == "" {
		return nil, errors.New("no cgroup v2 hierarchy: /sys/fs/cgroup is cgroup v1 and has no unified/ mount")
	}
	own, err := ownCgroup()
	if err != nil {
		return nil, err
	}
	h := &Hierarchy{mount: mount, watches: map[int]func(){}, inUse: map[string]bool{}, done: make(chan struct{}), fdBudget: 64}
	var rl unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_NOFILE, &rl) == nil {
		h.fdBudget = int64(max(64, min(rl.Cur/4, 1<<20)))
	}
	ownPath := filepath.Join(mount, own)
	switch {
	case delegated(ownPath):
		// systemd gave this service its cgroup (Delegate=yes). The daemon moves into a leaf: the subtree may then
		// enable controllers for the apps' cgroups (no internal processes), and the apps sit beside it.
		h.path, h.why = ownPath, "cgroup "+own+" delegated by systemd (Delegate=yes)"
		leaf := filepath.Join(ownPath, daemonLeaf)
		if err := os.Mkdir(leaf, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("cgroup %s: %w", leaf, err)
		}
		if err := writeFile(filepath.Join(leaf, "cgroup.procs"), strconv.Itoa(os.Getpid())); err != nil {
			return nil, fmt.Errorf("move the daemon into its leaf: %w", err)
		}
	case filepath.Base(own) == daemonLeaf && delegated(filepath.Dir(ownPath)):
		// Already in its leaf (a daemon that moved itself, or systemd's DelegateSubgroup=daemon).
		h.path, h.why = filepath.Dir(ownPath), "cgroup "+filepath.Dir(own)+" delegated by systemd (Delegate=yes)"
	case os.Geteuid() == 0:
		// Root without delegation: a subtree of its own, one per GPM_HOME so that daemons of several homes never
		// touch each other's apps.
		sum := sha256.Sum256([]byte(home))
		name := "gpm-" + hex.EncodeToString(sum[:6])
		h.path, h.own = filepath.Join(mount, name), true
		h.why = "root: cgroup /" + name + " of its own (the daemon's cgroup " + own + " is not delegated)"
		if err := os.Mkdir(h.path, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("cgroup %s: %w", h.path, err)
		}
	default:
		return nil, fmt.Errorf("cgroup %s is not delegated to this daemon and it is not root: run it under systemd with Delegate=yes (the units gpm startup writes have it)", own)
	}
	if err := h.enableControllers(); err != nil {
		return nil, err
	}
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("inotify for cgroup.events: %w", err)
	}
	h.ifd, h.inotify = fd, os.NewFile(uintptr(fd), "inotify")
	go h.readEvents()
	return h, nil
}

// ownCgroup reads the daemon's cgroup v2 path from /proc/self/cgroup (the "0::" line).
func ownCgroup() (string, error) {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return "", fmt.Errorf("own cgroup: %w", err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if p, ok := strings.CutPrefix(line, "0::"); ok {
			return p, nil
		}
	}
	return "", errors.New("own cgroup: /proc/self/cgroup has no cgroup v2 (0::) line")
}

// delegated reports whether systemd delegated the cgroup at path: it marks such a cgroup with trusted.delegate (a
// system service) or user.delegate (a user service) = 1.
func delegated(path string) bool {
	buf := make([]byte, 8)
	for _, attr := range []string{"trusted.delegate", "user.delegate"} {
		if n, err := unix.Getxattr(path, attr, buf); err == nil && string(buf[:n]) == "1" {
			return true
		}
	}
	return false
}

// enableControllers turns on, for the apps' cgroups, the controllers among cpu, memory and pids that the subtree
// was given. One refused (a process left in the subtree itself, EBUSY) is not an error: the limits needing it are
// refused later, by name.
func (h *Hierarchy) enableControllers() error {
	avail, err := readFile(filepath.Join(h.path, "cgroup.controllers"))
	if err != nil {
		return fmt.Errorf("cgroup %s: %w", h.path, err)
	}
	for _, c := range []string{"cpu", "memory", "pids"} {
		if slices.Contains(strings.Fields(string(avail)), c) {
			writeFile(filepath.Join(h.path, "cgroup.subtree_control"), "+"+c)
		}
	}
	on, err := readFile(filepath.Join(h.path, "cgroup.subtree_control"))
	if err != nil {
		return fmt.Errorf("cgroup %s: %w", h.path, err)
	}
	h.enabled = strings.Fields(string(on))
	return nil
}

// Path is the subtree, absolute.
func (h *Hierarchy) Path() string { return h.path }

// Why says how the subtree was chosen.
func (h *Hierarchy) Why() string { return h.why }

// Controllers are the controllers the apps' cgroups have (of cpu, memory and pids).
func (h *Hierarchy) Controllers() []string { return h.enabled }

// Has reports whether the apps' cgroups have controller.
func (h *Hierarchy) Has(controller string) bool { return slices.Contains(h.enabled, controller) }

// readEvents calls the watchers of the cgroup.events files that changed, until Close.
func (h *Hierarchy) readEvents() {
	defer close(h.done)
	buf := make([]byte, 64*(unix.SizeofInotifyEvent+unix.NAME_MAX+1))
	for {
		n, err := h.inotify.Read(buf)
		if err != nil {
			return
		}
		for off := 0; off+unix.SizeofInotifyEvent <= n; {
			ev := (*unix.InotifyEvent)(unsafePointer(buf[off:]))
			off += unix.SizeofInotifyEvent + int(ev.Len)
			h.mu.Lock()
			fn := h.watches[int(ev.Wd)]
			h.mu.Unlock()
			if fn != nil {
				fn()
			}
		}
	}
}

// New makes the cgroup of a new run of app process id of app name (app-<name>-<id>, or -<n> beside it while an
// earlier run's cgroup still holds processes) and arms changed, called (on another goroutine, and must not block)
// whenever its cgroup.events changes: it went empty or was populated. The caller starts the process in it through
// FD and must Remove it when the run is over.
func (h *Hierarchy) New(name string, id int, changed func()) (*Group, error) {
	base := "app-" + escape(name) + "-" + strconv.Itoa(id)
	h.mu.Lock()
	defer h.mu.Unlock()
	for slot := range MaxSlots {
		cg := base
		if slot > 0 {
			cg += "-" + strconv.Itoa(slot)
		}
		if h.inUse[cg] {
			continue
		}
		path := filepath.Join(h.path, cg)
		if err := os.Mkdir(path, 0o755); err != nil {
			if !errors.Is(err, fs.ErrExist) {
				return nil, fmt.Errorf("cgroup %s: %w", path, err)
			}
			if populated(path) {
				continue // leftovers of an earlier run still dying, or of a dead daemon: never shared
			}
			// An empty leftover is made afresh, never taken as it is: it was most likely killed through
			// cgroup.kill, and on Linux 6.18 every child cloned into a cgroup once killed that way is killed at
			// birth (TestNewAfterKilledLeftover): the app would crash-loop to errored.
			if os.Remove(path) != nil || os.Mkdir(path, 0o755) != nil {
				continue
			}
		}
		g := &Group{h: h, name: cg, path: path, wd: -1}
		dir, err := unix.Open(path, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			os.Remove(path)
			return nil, fmt.Errorf("cgroup %s: %w", path, err)
		}
		g.dir = dir
		wd, err := unix.InotifyAddWatch(h.ifd, filepath.Join(path, "cgroup.events"), unix.IN_MODIFY)
		if err != nil {
			unix.Close(dir)
			os.Remove(path)
			return nil, fmt.Errorf("watch %s/cgroup.events: %w", path, err)
		}
		g.wd = wd
		h.watches[wd] = changed
		h.inUse[cg] = true
		return g, nil
	}
	return nil, fmt.Errorf("cgroup %s: the %d cgroups of this process (MaxSlots) all hold processes", filepath.Join(h.path, base), MaxSlots)
}

// Leftovers returns the app cgroups of the subtree that no Group holds: what a daemon that died left. The caller
// kills and removes them.
func (h *Hierarchy) Leftovers() []*Group {
	ents, _ := os.ReadDir(h.path)
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []*Group
	for _, e := range ents {
		if e.IsDir() && strings.HasPrefix(e.Name(), "app-") && !h.inUse[e.Name()] {
			out = append(out, &Group{h: h, name: e.Name(), path: filepath.Join(h.path, e.Name()), dir: -1, wd: -1})
		}
	}
	return out
}

// Close ends the watches and removes the empty app cgroups, and the subtree when gpm made it.
func (h *Hierarchy) Close() {
	h.inotify.Close()
	<-h.done
	for _, g := range h.Leftovers() {
		os.Remove(g.path)
	}
	if h.own {
		os.Remove(h.path)
	}
}

// Path is the cgroup's directory.
func (g *Group) Path() string { return g.path }

// FD is a descriptor of the cgroup's directory for syscall.SysProcAttr.CgroupFD; -1 for a leftover.
func (g *Group) FD() int { return g.dir }

// Kill SIGKILLs every process in the cgroup (cgroup.kill, Linux 5.14: a fork racing it is killed too). Before
// 5.14, every process listed in cgroup.procs, as many rounds as it takes for forks to stop.
func (g *Group) Kill() error {
	err := writeFile(filepath.Join(g.path, "cgroup.kill"), "1")
	if err == nil || errors.Is(err, fs.ErrNotExist) && !dirExists(g.path) {
		return nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("cgroup %s: kill: %w", g.path, err)
	}
	for range 16 {
		pids := g.Procs()
		if len(pids) == 0 {
			return nil
		}
		for _, pid := range pids {
			unix.Kill(pid, unix.SIGKILL)
		}
	}
	return nil
}

// Populated reports whether a process is left in the cgroup (cgroup.events "populated 1"): the kernel drops a
// process from it as it exits, before its parent reaps it.
func (g *Group) Populated() bool { return populated(g.path) }

func populated(path string) bool {
	b, err := readFile(filepath.Join(path, "cgroup.events"))
	if err != nil {
		return false
	}
	return bytes.Contains(b, []byte("populated 1"))
}

// Procs lists the processes in the cgroup now.
func (g *Group) Procs() []int {
	b, _ := readFile(filepath.Join(g.path, "cgroup.procs"))
	var out []int
	for f := range bytes.FieldsSeq(b) {
		if pid, err := strconv.Atoi(string(f)); err == nil {
			out = append(out, pid)
		}
	}
	return out
}

// MemoryMaxAge bounds how old the memory figure Usage returns may be without the memory controller, where it is
// the sum of the RSS of the processes of cgroup.procs: that sum is read again when the cgroup's cpu time moved
// since it was read (a process must run to fault pages in, fork, exec or exit: all of it charged to the cgroup's
// cpu.stat), and at least every MemoryMaxAge otherwise (what the kernel takes back from a process that sleeps:
// reclaim, swap). An idle app's sample is then one pread(2) of cpu.stat (bench/all.sh "idle").
const MemoryMaxAge = 10 * time.Second

// maxStatmFDs bounds the /proc/PID/statm descriptors Usage keeps open for one cgroup; the processes past it are
// read with an open, a read and a close.
const maxStatmFDs = 8

// Usage reads the cgroup's cpu time (cpu.stat usage_usec, there even without the cpu controller) and memory
// (memory.current with the memory controller, else the RSS of the processes in cgroup.procs, read again when the
// cpu time moved or MemoryMaxAge passed).
// It is called for every app every sampling interval (bench/tree.sh, bench/all.sh "idle"): preads of descriptors
// kept open into a stack buffer, no allocation.
func (g *Group) Usage() (Usage, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	var u Usage
	if g.removed {
		return u, fmt.Errorf("cgroup %s: removed", g.path)
	}
	f, err := g.usageFiles()
	if err != nil {
		return u, err
	}
	var buf [1024]byte
	b, err := f.read(f.cpuFD, "cpu.stat", buf[:])
	if err != nil {
		return u, fmt.Errorf("cgroup %s: cpu.stat: %w", g.path, err)
	}
	if i := bytes.Index(b, []byte("usage_usec ")); i >= 0 {
		u.CPU = time.Duration(parseUint(b[i+len("usage_usec "):])) * time.Microsecond
	}
	if f.hasMem {
		if b, err := f.read(f.memFD, "memory.current", buf[:]); err == nil {
			u.Memory, u.MemoryCurrent = parseUint(b), true
			return u, nil
		}
	}
	now := time.Now()
	if !f.memAt.IsZero() && u.CPU == f.cpuSeen && now.Sub(f.memAt) < MemoryMaxAge {
		u.Memory = f.mem
		return u, nil
	}
	b, err = f.read(f.procsFD, "cgroup.procs", buf[:])
	if err != nil {
		return u, fmt.Errorf("cgroup %s: cgroup.procs: %w", g.path, err)
	}
	var seen [maxStatmFDs]int
	n := 0
	for len(b) > 0 {
		var line []byte
		line, b, _ = bytes.Cut(b, []byte{'\n'})
		pid := int(parseUint(line))
		if pid <= 0 {
			continue
		}
		if n < len(seen) {
			seen[n], n = pid, n+1
			u.Memory += f.rss(pid)
		} else {
			u.Memory += RSS(pid)
		}
	}
	for pid, fd := range f.statm {
		if !slices.Contains(seen[:n], pid) {
			f.release(fd)
			delete(f.statm, pid)
		}
	}
	f.cpuSeen, f.mem, f.memAt = u.CPU, u.Memory, now
	return u, nil
}

// usageFiles opens the files Usage reads, once (those the descriptor budget allows).
func (g *Group) usageFiles() (*usageFiles, error) {
	if g.files != nil {
		return g.files, nil
	}
	f := &usageFiles{h: g.h, dir: g.path, cpuFD: -1, memFD: -1, procsFD: -1, hasMem: g.h.Has("memory")}
	for _, c := range []struct {
		fd   *int
		name string
		want bool
	}{{&f.cpuFD, "cpu.stat", true}, {&f.procsFD, "cgroup.procs", true}, {&f.memFD, "memory.current", f.hasMem}} {
		if c.want && g.h.holdFD() {
			fd, err := openRead(filepath.Join(g.path, c.name))
			if err != nil {
				g.h.fdsHeld.Add(-1)
				f.close()
				return nil, fmt.Errorf("cgroup %s: %w", g.path, err)
			}
			*c.fd = fd
		}
	}
	g.files = f
	return f, nil
}

// holdFD takes one descriptor of the budget; false when it is spent.
func (h *Hierarchy) holdFD() bool {
	if h.fdsHeld.Add(1) > h.fdBudget {
		h.fdsHeld.Add(-1)
		return false
	}
	return true
}

// read reads the cgroup file name from its start: through fd when held, else with an open, a read and a close.
func (f *usageFiles) read(fd int, name string, buf []byte) ([]byte, error) {
	if fd >= 0 {
		return rawfile.Pread(fd, buf, maxFileBytes)
	}
	fd, err := openRead(filepath.Join(f.dir, name))
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	return rawfile.Pread(fd, buf, maxFileBytes)
}

// release closes a held descriptor and gives it back to the budget.
func (f *usageFiles) release(fd int) {
	if fd >= 0 {
		unix.Close(fd)
		f.h.fdsHeld.Add(-1)
	}
}

// close closes the descriptors.
func (f *usageFiles) close() {
	for _, fd := range []int{f.cpuFD, f.memFD, f.procsFD} {
		f.release(fd)
	}
	for _, fd := range f.statm {
		f.release(fd)
	}
}

// rss is RSS(pid) through a descriptor of /proc/PID/statm kept open: it names that process, not its pid, so a read
// after the process was reaped fails (ESRCH) instead of reading another process that reused the pid.
func (f *usageFiles) rss(pid int) uint64 {
	fd, ok := f.statm[pid]
	if !ok {
		if !f.h.holdFD() {
			return RSS(pid)
		}
		var err error
		if fd, err = openRead("/proc/" + strconv.Itoa(pid) + "/statm"); err != nil {
			f.h.fdsHeld.Add(-1)
			return 0
		}
		if f.statm == nil {
			f.statm = make(map[int]int, 2)
		}
		f.statm[pid] = fd
	}
	var buf [128]byte
	b, err := preadSmall(fd, buf[:])
	if err != nil {
		f.release(fd)
		delete(f.statm, pid)
		return 0
	}
	return statmRSS(b)
}

// RSS is pid's resident set in bytes (/proc/PID/statm); 0 when it is gone.
func RSS(pid int) uint64 {
	var buf [128]byte
	b, err := rawfile.Read("/proc/"+strconv.Itoa(pid)+"/statm", buf[:], maxFileBytes)
	if err != nil {
		return 0
	}
	return statmRSS(b)
}

// statmRSS is the resident set in bytes of a /proc/PID/statm text (its second field, in pages).
func statmRSS(b []byte) uint64 {
	_, rest, ok := bytes.Cut(b, []byte{' '})
	if !ok {
		return 0
	}
	return parseUint(rest) * uint64(os.Getpagesize())
}

// parseUint parses the decimal number at the start of b (0 if none), without allocating.
func parseUint(b []byte) uint64 {
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + uint64(c-'0')
	}
	return n
}

// openRead opens path to read it with preadSmall and preadAll.
func openRead(path string) (int, error) {
	return unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
}

// preadSmall reads a file of at most len(buf) bytes from its start with one pread(2).
func preadSmall(fd int, buf []byte) ([]byte, error) {
	n, err := unix.Pread(fd, buf, 0)
	if err != nil {
		return nil, err
	}
	return buf[:n], nil
}

// SetLimits writes the cgroup's limits (a zero limit writes "max": the cgroup may be reused from an earlier run).
// A limit whose controller the cgroup lacks is an error naming it and how to get it.
func (g *Group) SetLimits(l Limits) error {
	type file struct {
		controller, name, value string
		set                     bool
	}
	files := []file{
		{"memory", "memory.max", "max", l.MemoryMax > 0},
		{"cpu", "cpu.max", "max 100000", l.CPUQuota > 0},
		{"pids", "pids.max", "max", l.TasksMax > 0},
	}
	if l.MemoryMax > 0 {
		files[0].value = strconv.FormatInt(l.MemoryMax, 10)
	}
	if l.CPUQuota > 0 {
		files[1].value = strconv.Itoa(l.CPUQuota*1000) + " 100000" // per 100 ms period
	}
	if l.TasksMax > 0 {
		files[2].value = strconv.Itoa(l.TasksMax)
	}
	for _, f := range files {
		if !g.h.Has(f.controller) {
			if f.set {
				return MissingController(f.controller, g.h.path)
			}
			continue
		}
		if err := writeFile(filepath.Join(g.path, f.name), f.value); err != nil {
			return fmt.Errorf("cgroup %s: %s: %w", g.path, f.name, err)
		}
	}
	return nil
}

// MissingController is the error for a limit whose controller the subtree at path lacks.
func MissingController(controller, path string) error {
	return fmt.Errorf("the %s controller is not enabled for %s: it needs cgroup v2 with the %s controller delegated (systemd: Delegate=yes in the gpm unit on a unified-hierarchy host; on a hybrid host the controller stays on cgroup v1)",
		controller, path, controller)
}

// Remove ends the watch and removes the cgroup. A cgroup that still holds processes (a leftover being killed) stays;
// a later New of its name removes it once empty and makes it again, and Close removes it.
func (g *Group) Remove() error {
	h := g.h
	h.mu.Lock()
	if g.wd >= 0 {
		unix.InotifyRmWatch(h.ifd, uint32(g.wd))
		delete(h.watches, g.wd)
		g.wd = -1
	}
	delete(h.inUse, g.name)
	h.mu.Unlock()
	if g.dir >= 0 {
		unix.Close(g.dir)
		g.dir = -1
	}
	g.mu.Lock()
	g.removed = true
	if g.files != nil {
		g.files.close()
		g.files = nil
	}
	g.mu.Unlock()
	if err := os.Remove(g.path); err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.EBUSY) {
		return fmt.Errorf("cgroup %s: %w", g.path, err)
	}
	return nil
}

// escape makes an app name a cgroup name's part: PM2's file-name rule (anything but [a-zA-Z0-9.-] becomes '-'),
// cut at MaxNameLen. The "app-" prefix keeps it from colliding with the kernel's files (cgroup.*, memory.*).
func escape(name string) string {
	b := []byte(name)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-') {
			b[i] = '-'
		}
	}
	if len(b) > MaxNameLen {
		b = b[:MaxNameLen]
	}
	return string(b)
}

func dirExists(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}

func readFile(path string) ([]byte, error) {
	return rawfile.Read(path, make([]byte, 512), maxFileBytes)
}

// writeFile writes one value to a cgroup interface file: one write(2), as the kernel parses each write whole.
func writeFile(path, value string) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(value)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
