package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/gpmd/gpm/api"
	"github.com/gpmd/gpm/config"
	"github.com/gpmd/gpm/platform"
)

// What a daemon leaves when it dies without stopping its apps (kill -9, the OOM killer, a crash): the apps'
// leaders get the death signal (SIGTERM, platform.setDeathSignal), which an app may trap, and nothing reaches their
// children. A new daemon of the same GPM_HOME stops all of it before it resurrects anything, or the saved list
// would start second copies next to the first ones, holding their ports.
//
// It finds them two ways:
//   - the run record, GPM_HOME/running.json: every leader this daemon runs, with its start time (/proc/PID/stat
//     field 22) and the boot it belongs to. A recorded pid counts only if it still has that start time in that
//     boot (pids are reused) and its environment names this GPM_HOME; its process group is signalled too;
//   - every process whose environment carries this GPM_HOME and a GPM_ID: gpm put both in every app's environment,
//     and children inherit them, whoever they were reparented to after the daemon died.
// and the descendants of both. Each gets its app's kill signal, the group of a recorded leader too; whatever is
// still alive after the app's kill_timeout (at most maxLeftoverGrace) gets SIGKILL. All of it is logged.
//
// A dead daemon is told by its pid file (GPM_HOME/gpm.pid), which Run writes before anything starts and removes
// only at its very end, every app stopped: a new daemon sweeps only when it finds one (Daemon.unfinished).
//
// The record is written off the loop, by recordRuns, a moment after each change: a daemon killed in that moment
// leaves a record without its newest leader, which the environment scan still finds.

const (
	// runRecordName is the run record, in GPM_HOME.
	runRecordName = "running.json"
	// maxRunRecordBytes bounds the run record a daemon reads at start (about 150 bytes a process).
	maxRunRecordBytes = 16 << 20
	// maxLeftoverGrace bounds how long a daemon's start waits for leftovers to honour their kill signal, whatever
	// their kill_timeout: the daemon serves no request meanwhile.
	maxLeftoverGrace = 10 * time.Second
	// leftoverKillWait bounds the wait for leftovers to vanish after SIGKILL (a process in uninterruptible sleep
	// takes its time).
	leftoverKillWait = 5 * time.Second
	// leftoverRounds is how many times the sweep looks again for processes forked while it was killing.
	leftoverRounds = 3
	// runRecordDelay is how long recordRuns waits after a change before it writes the run record.
	runRecordDelay = 20 * time.Millisecond
	// leftoverPoll is how often the sweep checks whether leftovers are gone: they are not the daemon's children, so
	// no SIGCHLD tells it.
	leftoverPoll = 20 * time.Millisecond
)

// runRecord is the content of the run record.
type runRecord struct {
	BootID string     `json:"boot_id"`
	Procs  []runEntry `json:"procs"`
}

// runEntry is one leader (a running process or a reload's drain).
type runEntry struct {
	PID         int    `json:"pid"`
	Start       uint64 `json:"start"`
	ID          int    `json:"id"` // -1 for a drain
	Name        string `json:"name"`
	KillSignal  string `json:"kill_signal"`
	KillTimeout int64  `json:"kill_timeout_ms"`
}

// takeOver stops what an earlier daemon of this GPM_HOME left running, then starts the run record's writer, which
// ends with ctx. Run calls it once the loop runs and before anything starts: resurrect must come after it.
func (d *Daemon) takeOver(ctx context.Context) {
	// PID 1 of its PID namespace (gpm run as a container's init) is older than every process it can see: none was
	// left by an earlier daemon, and the sweep's scan of /proc would only delay the apps' start. Nor did a daemon
	// that reached the end of its Run leave anything (its stop ends every process of every app): the sweep is for
	// one that was killed or crashed (d.unfinished). The scan reads the environment of every process on the
	// machine, which takes each one's memory map lock: 5 to 200 ms before the first app starts, on a busy machine.
	if os.Getpid() != 1 && d.unfinished {
		d.stopLeftovers()
	}
	d.stopLeftoverCgroups()
	// One trip to the loop: the first wake (a record of what runs now) waits in the channel for the writer.
	wake := make(chan struct{}, 1)
	if d.exec(ctx, func() { d.contain.wake = wake; d.noteRunning() }) != nil {
		return
	}
	go d.recordRuns(ctx, wake)
}

// noteRunning tells the run record's writer that a leader started or ended. It never blocks: changes that come
// while a write is pending are in that write. Runs on the loop.
func (d *Daemon) noteRunning() {
	select {
	case d.contain.wake <- struct{}{}:
	default:
	}
}

// recordRuns writes the run record after each change until ctx ends. The leaders are copied on the loop; their
// start times are read and the file written off it.
func (d *Daemon) recordRuns(ctx context.Context, wake <-chan struct{}) {
	path := d.path(runRecordName)
	var boot string
	var failing error
	for {
		select {
		case <-ctx.Done():
			return
		case <-wake:
		}
		// A moment's wait gathers the changes that come together (an exit and its restart, a batch start) into one
		// write, and keeps the write off the CPUs while a restart execs: with two writes a restart, their renames
		// were 13 % of the daemon's CPU samples around it (perf). What a daemon killed meanwhile leaves out, the
		// environment scan finds.
		select {
		case <-ctx.Done():
			return
		case <-time.After(runRecordDelay):
		}
		select {
		case <-wake:
		default:
		}
		var entries []runEntry
		if d.exec(ctx, func() {
			for _, p := range d.procs {
				if p.pid != 0 {
					entries = append(entries, runEntry{PID: p.pid, ID: p.id, Name: p.app.Name,
						KillSignal: p.app.KillSignal, KillTimeout: int64(p.app.KillTimeout)})
				}
			}
			for pid, w := range d.draining {
				entries = append(entries, runEntry{PID: pid, ID: -1, Name: w.name,
					KillSignal: w.app.KillSignal, KillTimeout: int64(w.app.KillTimeout)})
			}
		}) != nil {
			return
		}
		if len(entries) == 0 {
			// An absent record reads as an empty one: there is nothing to write at start (Run's first wake), nor
			// after the last app ends, unless an earlier record is there to replace.
			if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
				continue
			}
		}
		if boot == "" {
			boot = platform.BootID()
		}
		rec := runRecord{BootID: boot, Procs: make([]runEntry, 0, len(entries))}
		for _, e := range entries {
			if id, ok := platform.Identify(e.PID); ok {
				e.Start = id.Start
				rec.Procs = append(rec.Procs, e)
			}
		}
		err := writeRunRecord(path, &rec)
		switch {
		case err != nil && failing == nil:
			d.log.Printf("run record: %v (a daemon killed now would leave apps that only their environment identifies)", err)
		case err == nil && failing != nil:
			d.log.Printf("run record: written again")
		}
		failing = err
	}
}

// writeRunRecord replaces the record at path: a temporary file renamed over it, so a reader never sees half of
// one. Not synced: the record matters after the daemon dies, not after the machine does (then nothing runs).
func writeRunRecord(path string, rec *runRecord) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err // names the file already
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// readRunRecord reads the record at path; an absent one is an empty record.
func readRunRecord(path string) (*runRecord, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &runRecord{}, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	tooBig := fmt.Errorf("read %s: larger than maxRunRecordBytes (%d)", path, maxRunRecordBytes)
	if st, err := f.Stat(); err == nil && st.Size() > maxRunRecordBytes {
		return nil, tooBig
	}
	b, err := io.ReadAll(io.LimitReader(f, maxRunRecordBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(b) > maxRunRecordBytes {
		return nil, tooBig
	}
	var rec runRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return &rec, nil
}

// leftover is one process an earlier daemon left.
type leftover struct {
	id     platform.ProcID
	leader bool      // a recorded leader: its process group is signalled too
	entry  *runEntry // its app process in the record (kill signal, kill_timeout, name); nil when unknown
	gpmID  int       // the GPM_ID of its environment, -1 when unknown
}

// stopLeftovers stops what an earlier daemon of this GPM_HOME left running (see the top of this file) and logs
// what it found and how each ended. It returns once they are gone, or the bounded waits are over.
func (d *Daemon) stopLeftovers() {
	rec, err := readRunRecord(d.path(runRecordName))
	if err != nil {
		d.log.Printf("leftovers: %v: looking by environment only", err)
		rec = &runRecord{}
	}
	found := d.findLeftovers(rec, nil)
	if len(found) == 0 {
		return
	}
	grace := time.Duration(0)
	for _, l := range found {
		sig, timeout := l.killSignal()
		grace = max(grace, timeout)
		d.log.Printf("leftovers: %s, left by a previous daemon: sending %s", l.describe(), platform.SignalName(sig))
		if l.leader && platform.Running(l.id) {
			platform.SignalGroup(l.id.PID, sig)
		}
		platform.Kill(l.id, sig)
	}
	grace = min(grace, maxLeftoverGrace)
	waitLeftovers(slices.Collect(maps.Values(found)), grace)
	for round := 0; round < leftoverRounds; round++ {
		found = d.findLeftovers(rec, found) // forked meanwhile
		var alive []*leftover
		for _, l := range found {
			if platform.Running(l.id) {
				alive = append(alive, l)
			}
		}
		if len(alive) == 0 {
			d.log.Printf("leftovers: all %d process(es) left by a previous daemon are gone", len(found))
			return
		}
		for _, l := range alive {
			d.log.Printf("leftovers: %s still alive after %v: sending SIGKILL", l.describe(), grace)
			if l.leader && platform.Running(l.id) {
				platform.SignalGroup(l.id.PID, syscall.SIGKILL)
			}
			if err := platform.Kill(l.id, syscall.SIGKILL); err != nil {
				d.log.Printf("leftovers: %v", err)
			}
		}
		waitLeftovers(alive, leftoverKillWait)
	}
	var left []string
	for _, l := range found {
		if platform.Running(l.id) {
			left = append(left, l.describe())
		}
	}
	if len(left) > 0 {
		d.log.Printf("leftovers: could not stop %d process(es) left by a previous daemon: %s", len(left), strings.Join(left, "; "))
	}
}

// findLeftovers returns the processes an earlier daemon left, those of known included (with their identity kept).
func (d *Daemon) findLeftovers(rec *runRecord, known map[platform.ProcID]*leftover) map[platform.ProcID]*leftover {
	found := map[platform.ProcID]*leftover{}
	for k, l := range known {
		found[k] = l
	}
	// Never this daemon, nor what started it: a gpm CLI run by an app of another daemon carries that app's GPM_ID
	// and this GPM_HOME, and waits for this daemon to answer.
	spare := map[int]bool{}
	for pid := os.Getpid(); pid > 1 && !spare[pid]; pid = platform.ParentPID(pid) {
		spare[pid] = true
	}
	byID := map[int]*runEntry{}
	for i := range rec.Procs {
		if e := &rec.Procs[i]; e.ID >= 0 {
			byID[e.ID] = e
		}
	}
	add := func(pid int, l leftover) *leftover {
		if spare[pid] {
			return nil
		}
		id, ok := platform.Identify(pid)
		if !ok {
			return nil
		}
		if have := found[id]; have != nil {
			return have
		}
		l.id = id
		found[id] = &l
		return &l
	}
	if boot := platform.BootID(); boot != "" && rec.BootID == boot {
		for i := range rec.Procs {
			e := &rec.Procs[i]
			id, ok := platform.Identify(e.PID)
			if !ok || id.Start != e.Start {
				continue // gone, or its pid is someone else's now
			}
			home, gid, hasID, _ := gpmMarks(e.PID)
			if home != d.opts.Home {
				continue // not ours whatever its start time says
			}
			if !hasID {
				gid = -1
			}
			if l := add(e.PID, leftover{entry: e, gpmID: gid}); l != nil {
				l.leader, l.entry = true, e
			}
		}
	}
	for _, pid := range platform.WithEnv(api.HomeEnv + "=" + d.opts.Home) {
		if home, gid, ok, _ := gpmMarks(pid); ok && home == d.opts.Home {
			add(pid, leftover{entry: byID[gid], gpmID: gid})
		}
	}
	// What they started, whatever its environment.
	t := platform.Snapshot()
	roots := make([]*leftover, 0, len(found))
	for _, l := range found {
		roots = append(roots, l)
	}
	for _, r := range roots {
		for _, pid := range t.Descendants(r.id.PID) {
			add(pid, leftover{entry: r.entry, gpmID: r.gpmID})
		}
	}
	return found
}

// killSignal is what stops l gracefully, and how long that may take: its app's, or gpm's defaults.
func (l *leftover) killSignal() (syscall.Signal, time.Duration) {
	name, timeout := config.DefaultKillSignal, config.DefaultKillTimeout.D()
	if l.entry != nil {
		if l.entry.KillSignal != "" {
			name = l.entry.KillSignal
		}
		timeout = config.Millis(l.entry.KillTimeout).D()
	}
	sig, err := platform.ParseSignal(name)
	if err != nil {
		sig = syscall.SIGINT
	}
	return sig, timeout
}

// describe names l for the log: pid, command line, app.
func (l *leftover) describe() string {
	s := fmt.Sprintf("pid %d (%s)", l.id.PID, platform.CommandLine(l.id.PID))
	switch {
	case l.entry != nil && l.leader:
		s += fmt.Sprintf(", leader of app %s (id %d)", l.entry.Name, l.entry.ID)
	case l.entry != nil:
		s += fmt.Sprintf(", of app %s (id %d)", l.entry.Name, l.gpmID)
	case l.gpmID >= 0:
		s += fmt.Sprintf(", of id %d", l.gpmID)
	}
	return s
}

// waitLeftovers waits until none of ls runs, for at most timeout.
func waitLeftovers(ls []*leftover, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for {
		alive := false
		for _, l := range ls {
			alive = alive || platform.Running(l.id)
		}
		if !alive || time.Now().After(deadline) {
			return
		}
		time.Sleep(leftoverPoll)
	}
}
