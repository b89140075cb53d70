package platform

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
)

// How a process is started, signalled and reaped on Windows:
//
//   - Every app is the leader of a new console process group (CREATE_NEW_PROCESS_GROUP), so a CTRL_BREAK_EVENT can
//     be aimed at it and its children, and is a member of a job object of its own from its first instruction
//     (PROC_THREAD_ATTRIBUTE_JOB_LIST), so everything it starts is in the job too. The job is the process group of
//     the unix code: SIGKILL and SIGTERM end the whole job (TerminateJobObject), GroupAlive counts the job's live
//     processes, Descendants lists its members. Jobs are JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE: their handles are
//     held only by the daemon, so a dying daemon takes its apps with it (what Pdeathsig does on Linux), and a new
//     daemon never meets a second copy of an app holding its port.
//   - SIGINT and SIGBREAK are a CTRL_BREAK_EVENT to the app's process group (CTRL_C cannot be sent to a group that
//     is not the caller's own). It reaches only processes attached to the daemon's console, which the apps inherit:
//     see ensureConsole. Go programs see it as os.Interrupt, Node as SIGBREAK, Python's default handler exits; GUI
//     programs and processes that detached from the console never see it and are terminated after kill_timeout.
//   - Exits are found by waiting on the process handles that Start keeps, one goroutine each, and handed to Reap.

// sigBREAK is SIGBREAK of the Windows C runtime (signal.h: 21), the CTRL_BREAK_EVENT. Go's syscall has no name for it.
const sigBREAK = syscall.Signal(21)

// signalNames are the signals Windows can deliver, in gpm's terms.
var signalNames = map[syscall.Signal]string{
	syscall.SIGINT:  "SIGINT",
	sigBREAK:        "SIGBREAK",
	syscall.SIGKILL: "SIGKILL",
	syscall.SIGTERM: "SIGTERM",
}

// exitKilled is the exit code of a process gpm terminated (128+SIGKILL, as a unix shell reports it). Its exit is
// reported as killed by the signal that was asked for, not by this code.
const exitKilled = 137

// procThreadAttributeJobList is PROC_THREAD_ATTRIBUTE_JOB_LIST (Windows 10 and later; x/sys/windows lacks it):
// ProcThreadAttributeValue(13, FALSE, TRUE, FALSE).
const procThreadAttributeJobList = 0x0002000D

// children is the package's only state, and the OS forces it: Start and Reap are free functions, yet a started
// process must stay tied to its process handle (to wait for it) and its job (to signal and count its group) until
// the group is gone. While gpm holds the process handle Windows does not reuse the pid, so the pid is a safe key.
// Handles in an entry are used and closed only under the lock: a handle closed while in use could be reused by
// Windows for another object, and TerminateJobObject would then hit the wrong job.
var children = struct {
	sync.Mutex
	byPID map[int]*child
	exits []Exit        // exits not handed to Reap yet
	wake  chan struct{} // tells Reap there are exits (capacity 1)
}{byPID: map[int]*child{}, wake: make(chan struct{}, 1)}

type child struct {
	proc   windows.Handle
	job    windows.Handle
	killed string // the signal gpm terminated the process with, "" if it did not
}

// Start starts c as the leader of a new process group in a job object of its own (see above). It returns the pid;
// the exit is reported to Reap. Cmd.UID and Cmd.GID and Cmd.ExtraFiles have no Windows meaning and make Start
// fail. The executable must be a real program (.exe): a .cmd or .bat needs cmd.exe /c as its interpreter.
func Start(c *Cmd) (int, error) {
	if c.UID >= 0 || c.GID >= 0 {
		return 0, fmt.Errorf("start %s: running as another user: %w", c.Path, ErrUnsupported)
	}
	if len(c.ExtraFiles) > 0 {
		return 0, fmt.Errorf("start %s: passing listening sockets: %w", c.Path, ErrUnsupported)
	}
	ensureConsole()
	argv := c.Args
	if len(argv) == 0 {
		argv = []string{c.Path}
	}
	path16, err := windows.UTF16PtrFromString(c.Path)
	if err != nil {
		return 0, fmt.Errorf("start %s: %w", c.Path, err)
	}
	cmdline, err := windows.UTF16PtrFromString(windows.ComposeCommandLine(argv))
	if err != nil {
		return 0, fmt.Errorf("start %s: command line: %w", c.Path, err)
	}
	env, err := envBlock(c.Env)
	if err != nil {
		return 0, fmt.Errorf("start %s: %w", c.Path, err)
	}
	var dir *uint16
	if c.Dir != "" {
		if dir, err = windows.UTF16PtrFromString(c.Dir); err != nil {
			return 0, fmt.Errorf("start %s: dir: %w", c.Path, err)
		}
	}
	files := []*os.File{c.Stdin, c.Stdout, c.Stderr}
	for i, f := range files {
		if f == nil {
			null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
			if err != nil {
				return 0, fmt.Errorf("start %s: %w", c.Path, err)
			}
			defer null.Close()
			files[i] = null
		}
	}
	// The child inherits exactly these three handles: inheritable duplicates, named in a HANDLE_LIST, closed once
	// the child has its copies. Every other handle of the daemon (control pipe, logs, other apps' pipes) stays out.
	// Go's own os.StartProcess always passes a HANDLE_LIST too, so it cannot pick up these duplicates meanwhile.
	self := windows.CurrentProcess()
	var std [3]windows.Handle
	for i, f := range files {
		if err := windows.DuplicateHandle(self, windows.Handle(f.Fd()), self, &std[i], 0, true, windows.DUPLICATE_SAME_ACCESS); err != nil {
			closeHandles(std[:i])
			return 0, fmt.Errorf("start %s: DuplicateHandle: %w", c.Path, err)
		}
	}
	defer closeHandles(std[:])
	job, err := newJob()
	if err != nil {
		return 0, fmt.Errorf("start %s: %w", c.Path, err)
	}
	attrs, err := windows.NewProcThreadAttributeList(2)
	if err != nil {
		windows.CloseHandle(job)
		return 0, fmt.Errorf("start %s: %w", c.Path, err)
	}
	defer attrs.Delete()
	if err := attrs.Update(windows.PROC_THREAD_ATTRIBUTE_HANDLE_LIST, unsafe.Pointer(&std[0]), unsafe.Sizeof(std)); err != nil {
		windows.CloseHandle(job)
		return 0, fmt.Errorf("start %s: handle list: %w", c.Path, err)
	}
	if err := attrs.Update(procThreadAttributeJobList, unsafe.Pointer(&job), unsafe.Sizeof(job)); err != nil {
		windows.CloseHandle(job)
		return 0, fmt.Errorf("start %s: job list: %w", c.Path, err)
	}
	si := &windows.StartupInfoEx{ProcThreadAttributeList: attrs.List()}
	si.Cb = uint32(unsafe.Sizeof(*si))
	si.Flags = windows.STARTF_USESTDHANDLES
	si.StdInput, si.StdOutput, si.StdErr = std[0], std[1], std[2]
	flags := uint32(windows.CREATE_NEW_PROCESS_GROUP | windows.CREATE_UNICODE_ENVIRONMENT | windows.EXTENDED_STARTUPINFO_PRESENT)
	var pi windows.ProcessInformation
	err = windows.CreateProcess(path16, cmdline, nil, nil, true, flags, env, dir, &si.StartupInfo, &pi)
	runtime.KeepAlive(files)
	if err != nil {
		windows.CloseHandle(job)
		return 0, &os.PathError{Op: "CreateProcess", Path: c.Path, Err: err}
	}
	windows.CloseHandle(pi.Thread)
	pid := int(pi.ProcessId)
	ch := &child{proc: pi.Process, job: job}
	children.Lock()
	children.byPID[pid] = ch
	children.Unlock()
	go ch.wait(pid)
	return pid, nil
}

// newJob creates the job object of one app: unnamed, not inheritable, and killing its processes when its last
// handle (the daemon's) closes.
func newJob() (windows.Handle, error) {
	job, err := windows.CreateJobObject(nil, nil)
	if err != nil {
		return 0, fmt.Errorf("CreateJobObject: %w", err)
	}
	info := windows.JOBOBJECT_EXTENDED_LIMIT_INFORMATION{
		BasicLimitInformation: windows.JOBOBJECT_BASIC_LIMIT_INFORMATION{LimitFlags: windows.JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE},
	}
	if _, err := windows.SetInformationJobObject(job, windows.JobObjectExtendedLimitInformation,
		uintptr(unsafe.Pointer(&info)), uint32(unsafe.Sizeof(info))); err != nil {
		windows.CloseHandle(job)
		return 0, fmt.Errorf("SetInformationJobObject: %w", err)
	}
	return job, nil
}

// wait reports the exit of the leader, then keeps the entry (and with it the job, and the pid reserved) until the
// last process of the job is gone: the daemon signals and counts the group after its leader died. The job sends
// no reliable "empty" event (completion port messages may be lost), hence the polling, which backs off to 1 s.
func (ch *child) wait(pid int) {
	windows.WaitForSingleObject(ch.proc, windows.INFINITE)
	var code uint32
	e := Exit{PID: pid, Code: -1}
	if err := windows.GetExitCodeProcess(ch.proc, &code); err == nil {
		e.Code = int(code)
	}
	children.Lock()
	if ch.killed != "" && code == exitKilled {
		e.Code, e.Signal = -1, ch.killed
	}
	children.exits = append(children.exits, e)
	children.Unlock()
	select {
	case children.wake <- struct{}{}:
	default:
	}
	// Only this goroutine closes the job, so it may query it without the lock.
	for d := 10 * time.Millisecond; jobActive(ch.job) > 0; d = min(2*d, time.Second) {
		time.Sleep(d)
	}
	children.Lock()
	delete(children.byPID, pid)
	windows.CloseHandle(ch.job) // empty: KILL_ON_JOB_CLOSE has nothing left to kill
	windows.CloseHandle(ch.proc)
	children.Unlock()
}

// Reap reports the exits of the processes Start started on out until ctx ends. Exits that happen while no Reap
// runs are kept for the next one; only one Reap may run at a time. Windows has no orphans to adopt: what an app
// starts stays in its job, and is counted by GroupAlive and killed by SignalGroup.
func Reap(ctx context.Context, out chan<- Exit) {
	for {
		children.Lock()
		pending := children.exits
		children.exits = nil
		children.Unlock()
		for i, e := range pending {
			select {
			case out <- e:
			case <-ctx.Done():
				children.Lock()
				children.exits = append(slices.Clone(pending[i:]), children.exits...)
				children.Unlock()
				return
			}
		}
		select {
		case <-children.wake:
		case <-ctx.Done():
			return
		}
	}
}

// ParseSignal turns "SIGINT", "INT", "int" or "2" into a signal Windows can deliver: SIGINT and SIGBREAK (a
// CTRL_BREAK_EVENT to the process group), SIGTERM and SIGKILL (both terminate: Windows has no polite "terminate").
// Other signals, known on unix, fail with ErrUnsupported.
func ParseSignal(s string) (syscall.Signal, error) {
	u := strings.ToUpper(strings.TrimSpace(s))
	if n, err := strconv.Atoi(u); err == nil {
		if _, ok := signalNames[syscall.Signal(n)]; ok {
			return syscall.Signal(n), nil
		}
	} else {
		if !strings.HasPrefix(u, "SIG") {
			u = "SIG" + u
		}
		for sig, name := range signalNames {
			if name == u {
				return sig, nil
			}
		}
	}
	return 0, fmt.Errorf("signal %q: %w: Windows delivers SIGINT, SIGBREAK, SIGTERM and SIGKILL", s, ErrUnsupported)
}

// SignalName is the "SIGTERM" name of sig, or its number.
func SignalName(sig syscall.Signal) string {
	if n, ok := signalNames[sig]; ok {
		return n
	}
	return strconv.Itoa(int(sig))
}

// Signal sends sig to one process. SIGKILL and SIGTERM terminate it (TerminateProcess); SIGINT and SIGBREAK reach
// only a group leader that Start started, and then its whole group (a console control event has no narrower
// target). A leader that has exited but not been reported yet is not an error; any other pid that is gone is.
func Signal(pid int, sig syscall.Signal) error {
	switch sig {
	case syscall.SIGKILL, syscall.SIGTERM:
		children.Lock()
		if ch := children.byPID[pid]; ch != nil {
			defer children.Unlock()
			if exited(ch.proc) {
				return nil
			}
			if ch.killed == "" {
				ch.killed = SignalName(sig)
			}
			if err := windows.TerminateProcess(ch.proc, exitKilled); err != nil {
				return fmt.Errorf("signal %s to %d: TerminateProcess: %w", SignalName(sig), pid, err)
			}
			return nil
		}
		children.Unlock()
		h, err := windows.OpenProcess(windows.PROCESS_TERMINATE, false, uint32(pid))
		if err != nil {
			return fmt.Errorf("signal %s to %d: OpenProcess: %w", SignalName(sig), pid, err)
		}
		defer windows.CloseHandle(h)
		if err := windows.TerminateProcess(h, exitKilled); err != nil {
			return fmt.Errorf("signal %s to %d: TerminateProcess: %w", SignalName(sig), pid, err)
		}
		return nil
	case syscall.SIGINT, sigBREAK:
		children.Lock()
		defer children.Unlock()
		if children.byPID[pid] == nil {
			return fmt.Errorf("signal %s to %d: %w: Windows sends CTRL_BREAK only to a process group gpm started",
				SignalName(sig), pid, ErrUnsupported)
		}
		return ctrlBreak(pid, sig)
	}
	return fmt.Errorf("signal %s to %d: %w", SignalName(sig), pid, ErrUnsupported)
}

// SignalGroup sends sig to the group led by pid, which Start started: SIGKILL and SIGTERM terminate every process
// of its job (TerminateJobObject), SIGINT and SIGBREAK are a CTRL_BREAK_EVENT to its console process group.
// A group that is already gone, or that Start did not start, is not an error.
func SignalGroup(pid int, sig syscall.Signal) error {
	children.Lock()
	defer children.Unlock()
	ch := children.byPID[pid]
	if ch == nil {
		return nil
	}
	switch sig {
	case syscall.SIGKILL, syscall.SIGTERM:
		if ch.killed == "" && !exited(ch.proc) {
			ch.killed = SignalName(sig)
		}
		if err := windows.TerminateJobObject(ch.job, exitKilled); err != nil {
			return fmt.Errorf("signal %s to group %d: TerminateJobObject: %w", SignalName(sig), pid, err)
		}
		return nil
	case syscall.SIGINT, sigBREAK:
		if jobActive(ch.job) == 0 {
			return nil
		}
		return ctrlBreak(pid, sig)
	}
	return fmt.Errorf("signal %s to group %d: %w", SignalName(sig), pid, ErrUnsupported)
}

// ctrlBreak sends CTRL_BREAK_EVENT to the console process group pid. It fails when no process of the group is
// attached to the daemon's console (conhost refuses an unknown group rather than signal the whole console).
func ctrlBreak(pid int, sig syscall.Signal) error {
	if err := windows.GenerateConsoleCtrlEvent(windows.CTRL_BREAK_EVENT, uint32(pid)); err != nil {
		return fmt.Errorf("signal %s to group %d: GenerateConsoleCtrlEvent(CTRL_BREAK_EVENT): %w", SignalName(sig), pid, err)
	}
	return nil
}

// GroupAlive reports whether any process is left in the job of the group led by pid. It is false for a pid that
// Start did not start.
func GroupAlive(pid int) bool {
	children.Lock()
	defer children.Unlock()
	ch := children.byPID[pid]
	return ch != nil && jobActive(ch.job) > 0
}

// Alive reports whether pid exists and has not exited. A process that exists but may not be opened by the daemon
// (another user's) counts as alive.
func Alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	children.Lock()
	if ch := children.byPID[pid]; ch != nil {
		defer children.Unlock()
		return !exited(ch.proc)
	}
	children.Unlock()
	h, err := windows.OpenProcess(windows.SYNCHRONIZE, false, uint32(pid))
	if err != nil {
		return err == windows.ERROR_ACCESS_DENIED
	}
	defer windows.CloseHandle(h)
	return !exited(h)
}

// exited reports whether the process of handle h has ended.
func exited(h windows.Handle) bool {
	ev, err := windows.WaitForSingleObject(h, 0)
	return err == nil && ev == windows.WAIT_OBJECT_0
}

// jobBasicAccounting is JOBOBJECT_BASIC_ACCOUNTING_INFORMATION.
type jobBasicAccounting struct {
	TotalUserTime, TotalKernelTime, ThisPeriodTotalUserTime, ThisPeriodTotalKernelTime int64
	TotalPageFaultCount, TotalProcesses, ActiveProcesses, TotalTerminatedProcesses     uint32
}

// jobActive is the number of live processes in job; 0 when it cannot be read, so that nothing waits forever on a
// job it cannot see.
func jobActive(job windows.Handle) int {
	var info jobBasicAccounting
	if err := windows.QueryInformationJobObject(job, windows.JobObjectBasicAccountingInformation,
		uintptr(unsafe.Pointer(&info)), uint32(unsafe.Sizeof(info)), nil); err != nil {
		return 0
	}
	return int(info.ActiveProcesses)
}

// maxJobPIDs bounds the members Descendants reads from a job; an app with more processes than this is not one
// gpm is meant for, and the job still kills them all.
const maxJobPIDs = 4096

// jobPIDList is JOBOBJECT_BASIC_PROCESS_ID_LIST with room for maxJobPIDs.
type jobPIDList struct {
	Assigned, InList uint32
	PIDs             [maxJobPIDs]uintptr
}

// jobPIDs lists the live processes of job.
func jobPIDs(job windows.Handle) ([]int, error) {
	list := new(jobPIDList)
	err := windows.QueryInformationJobObject(job, windows.JobObjectBasicProcessIdList,
		uintptr(unsafe.Pointer(list)), uint32(unsafe.Sizeof(*list)), nil)
	if err != nil && err != windows.ERROR_MORE_DATA {
		return nil, fmt.Errorf("QueryInformationJobObject: %w", err)
	}
	out := make([]int, 0, list.InList)
	for _, p := range list.PIDs[:min(list.InList, maxJobPIDs)] {
		out = append(out, int(p))
	}
	return out, nil
}

// Descendants returns every live process below pid. For a leader that Start started it is the members of its job
// (descendants whose parent died included, as the subreaper gives them on Linux); for another pid it follows the
// parent links of a process snapshot.
func Descendants(pid int) []int {
	children.Lock()
	var members []int
	var err error = ErrUnsupported
	if ch := children.byPID[pid]; ch != nil {
		members, err = jobPIDs(ch.job)
	}
	children.Unlock()
	if err == nil {
		return slices.DeleteFunc(members, func(p int) bool { return p == pid })
	}
	return treeBelow(pid)
}

// treeBelow walks the parent links of a process snapshot down from pid. Windows keeps a process's parent pid after
// the parent exits, and reuses pids, so a stale link could name an unrelated process as a child: a child counts
// only if it was created after its parent.
func treeBelow(pid int) []int {
	procs, err := processList()
	if err != nil {
		return nil
	}
	kids := map[uint32][]uint32{}
	for _, p := range procs {
		if p.pid != p.ppid {
			kids[p.ppid] = append(kids[p.ppid], p.pid)
		}
	}
	var out []int
	type node struct {
		pid     uint32
		created int64
	}
	root, ok := created(uint32(pid))
	if !ok {
		return nil
	}
	queue := []node{{uint32(pid), root}}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		for _, c := range kids[n.pid] {
			if t, ok := created(c); ok && t >= n.created {
				out = append(out, int(c))
				queue = append(queue, node{c, t})
			}
		}
	}
	return out
}

// ParentPID returns the parent of pid, or 0 when unknown or when the parent has exited (its pid may then name
// another process).
func ParentPID(pid int) int {
	procs, err := processList()
	if err != nil {
		return 0
	}
	for _, p := range procs {
		if p.pid != uint32(pid) {
			continue
		}
		pt, ok1 := created(p.ppid)
		ct, ok2 := created(p.pid)
		if p.ppid == 0 || !ok1 || !ok2 || pt > ct {
			return 0
		}
		return int(p.ppid)
	}
	return 0
}

type procLink struct{ pid, ppid uint32 }

// processList is a snapshot of every process with its parent (CreateToolhelp32Snapshot).
func processList() ([]procLink, error) {
	snap, err := windows.CreateToolhelp32Snapshot(windows.TH32CS_SNAPPROCESS, 0)
	if err != nil {
		return nil, fmt.Errorf("CreateToolhelp32Snapshot: %w", err)
	}
	defer windows.CloseHandle(snap)
	var out []procLink
	e := windows.ProcessEntry32{Size: uint32(unsafe.Sizeof(windows.ProcessEntry32{}))}
	for err = windows.Process32First(snap, &e); err == nil; err = windows.Process32Next(snap, &e) {
		out = append(out, procLink{e.ProcessID, e.ParentProcessID})
	}
	if err != windows.ERROR_NO_MORE_FILES {
		return nil, fmt.Errorf("Process32Next: %w", err)
	}
	return out, nil
}

// created is the creation time of a live process, in 100 ns units.
func created(pid uint32) (int64, bool) {
	if pid == 0 {
		return 0, false
	}
	h, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, pid)
	if err != nil {
		return 0, false
	}
	defer windows.CloseHandle(h)
	var c, e, k, u windows.Filetime
	if err := windows.GetProcessTimes(h, &c, &e, &k, &u); err != nil {
		return 0, false
	}
	return int64(c.HighDateTime)<<32 | int64(c.LowDateTime), true
}

// envBlock builds the UTF-16 environment block of CreateProcess from env. Windows variable names are
// case-insensitive: the last of several spellings of a name wins, as os/exec does it. SYSTEMROOT is added from
// the daemon's environment when env lacks it, as os/exec does too: without it many programs cannot even load
// their DLLs. The block is sorted by name, case-insensitively, as the Win32 documentation asks.
func envBlock(env []string) (*uint16, error) {
	last := map[string]int{}
	for i, kv := range env {
		if strings.IndexByte(kv, 0) >= 0 {
			return nil, fmt.Errorf("environment variable with a NUL byte: %q", kv)
		}
		last[strings.ToUpper(envKey(kv))] = i
	}
	var kept []string
	for i, kv := range env {
		if last[strings.ToUpper(envKey(kv))] == i {
			kept = append(kept, kv)
		}
	}
	if _, ok := last["SYSTEMROOT"]; !ok {
		if v, ok := os.LookupEnv("SYSTEMROOT"); ok {
			kept = append(kept, "SYSTEMROOT="+v)
		}
	}
	sort.SliceStable(kept, func(i, j int) bool {
		return strings.ToUpper(envKey(kept[i])) < strings.ToUpper(envKey(kept[j]))
	})
	var b []uint16
	for _, kv := range kept {
		u, err := windows.UTF16FromString(kv)
		if err != nil {
			return nil, fmt.Errorf("environment: %w", err)
		}
		b = append(b, u...) // with its NUL
	}
	b = append(b, 0)
	if len(kept) == 0 {
		b = append(b, 0) // an empty block is two NULs
	}
	return &b[0], nil
}

// envKey is the name in "NAME=value". A leading '=' belongs to the name: cmd.exe keeps per-drive directories in
// variables such as "=C:=C:\work".
func envKey(kv string) string {
	if i := strings.IndexByte(kv[min(1, len(kv)):], '='); i >= 0 {
		return kv[:i+min(1, len(kv))]
	}
	return kv
}

func closeHandles(hs []windows.Handle) {
	for _, h := range hs {
		if h != 0 {
			windows.CloseHandle(h)
		}
	}
}

var (
	kernel32             = windows.NewLazySystemDLL("kernel32.dll")
	user32               = windows.NewLazySystemDLL("user32.dll")
	procAllocConsole     = kernel32.NewProc("AllocConsole")
	procGetConsoleWindow = kernel32.NewProc("GetConsoleWindow")
	procShowWindow       = user32.NewProc("ShowWindow")
	procIsProcessInJob   = kernel32.NewProc("IsProcessInJob")
	consoleOnce          sync.Once
)

// ensureConsole gives the daemon a console if it has none, before it starts the first app. A CTRL_BREAK_EVENT
// reaches only processes attached to the sender's console, and apps inherit the daemon's: without one (a service
// started by the SCM, a daemon started from a GUI) every console app would get a console of its own and SIGINT
// could never reach it. The daemon the CLI starts has one already (DetachedAttr: CREATE_NO_WINDOW); a service's
// lives in session 0, where nobody sees it; otherwise its window is hidden at once. Failure is not fatal: stops
// then fall through to the kill after kill_timeout.
func ensureConsole() {
	consoleOnce.Do(func() {
		if _, err := windows.GetConsoleCP(); err == nil {
			return // attached to a console already
		}
		if r, _, _ := procAllocConsole.Call(); r == 0 {
			return
		}
		if w, _, _ := procGetConsoleWindow.Call(); w != 0 {
			const swHide = 0
			procShowWindow.Call(w, swHide)
		}
	})
}

// DetachedAttr is what the CLI uses to start the daemon. CREATE_NO_WINDOW gives the daemon a console of its own
// without a window: closing the terminal the CLI ran in, or Ctrl+C there, does not reach the daemon, and its apps
// share the daemon's console, which CTRL_BREAK delivery needs (see ensureConsole). CREATE_NEW_PROCESS_GROUP makes
// the daemon ignore CTRL_C, so an app that sends one to the whole console does not stop it. When the CLI runs in
// a job that allows breakaway (CI runners, some remote shells), the daemon leaves it, so the end of that session
// does not kill the daemon; a job that forbids breakaway keeps it (see jobAllowsBreakaway).
func DetachedAttr() *syscall.SysProcAttr {
	flags := uint32(windows.CREATE_NEW_PROCESS_GROUP | windows.CREATE_NO_WINDOW)
	if jobAllowsBreakaway() {
		flags |= windows.CREATE_BREAKAWAY_FROM_JOB
	}
	return &syscall.SysProcAttr{HideWindow: true, CreationFlags: flags}
}

// jobAllowsBreakaway reports whether this process is in a job whose limits allow its children to leave it
// (JOB_OBJECT_LIMIT_BREAKAWAY_OK). Asking for breakaway from a job that forbids it makes CreateProcess fail, so
// it is asked for only then. (Only the innermost job is read: an outer job of a nested chain that forbids
// breakaway would still make the start fail.)
func jobAllowsBreakaway() bool {
	var in int32
	if r, _, _ := procIsProcessInJob.Call(uintptr(windows.CurrentProcess()), 0, uintptr(unsafe.Pointer(&in))); r == 0 || in == 0 {
		return false
	}
	var info windows.JOBOBJECT_EXTENDED_LIMIT_INFORMATION
	if err := windows.QueryInformationJobObject(0, windows.JobObjectExtendedLimitInformation,
		uintptr(unsafe.Pointer(&info)), uint32(unsafe.Sizeof(info)), nil); err != nil {
		return false
	}
	return info.BasicLimitInformation.LimitFlags&windows.JOB_OBJECT_LIMIT_BREAKAWAY_OK != 0
}

// SetSubreaper has nothing to do on Windows: the job object of each app (see Start) keeps its descendants together
// whatever becomes of their parents.
func SetSubreaper() error { return nil }

// Tree is a snapshot for finding descendants; on Windows each lookup asks the job or a fresh Toolhelp snapshot.
type Tree struct{}

// Snapshot returns a Tree whose lookups use Descendants.
func Snapshot() *Tree { return &Tree{} }

// Descendants returns every process below pid.
func (t *Tree) Descendants(pid int) []int { return Descendants(pid) }

// Background does nothing on Windows yet: thread priorities there are not nice values.
func Background() error { return nil }

// ExecPath is f's name.
func ExecPath(f *os.File) string { return f.Name() }

// CloseOnExecInherited does nothing on Windows: a child inherits only the handles it is given.
func CloseOnExecInherited() {}
