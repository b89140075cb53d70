package service

import (
	"syscall"
	"time"

	"github.com/gpmd/gpm/platform"
	"github.com/gpmd/gpm/platform/cgroup"
)

// halt is the one stop of one run of an app process, shared by a process's stop (exit.go) and a reload drain's
// (reload.go), so that both end a run the same way:
//
//  1. begin: the kill signal to the run's process group (sent while the leader is unreaped, so its pid still names
//     that group); in fallback mode the run's members (contain.go) are recorded;
//  2. at kill_timeout, hard: cgroup.kill of the run's cgroup (every process in it, a fork racing the kill
//     included); in fallback mode SIGKILL to the group and, through pidfds, to every member recorded or found now;
//  3. the run is over once its leader was reaped and nothing is left: the cgroup is empty (cgroup.events
//     "populated 0", watched with inotify, re-read every cgroupRecheck in case an event is lost), or, in fallback
//     mode, the group is empty and no member is alive, looking once more for members forked during the stop (a
//     setsid child forked on the kill signal is an orphan by then). done runs then, on the loop.
//
// Every field is owned by the loop.
type halt struct {
	name string
	id   int // for log lines; -1: a drain
	pid  int // the leader, and its process group
	cg   *cgroup.Group
	// members finds the run's processes beyond the leader now (fallback mode).
	members func() []platform.ProcID
	tree    []platform.ProcID // fallback: members seen since begin
	timeout time.Duration
	// leaderOnly: the kill signal goes to the leader alone (treekill: false); kill_timeout still takes the rest.
	leaderOnly bool
	// unsurePolls counts the looks taken again for an orphan in the middle of an exec (containment.unsure).
	unsurePolls int
	leaderGone  bool
	begun       bool
	graceOver   bool
	over        bool
	timer       *time.Timer // kill_timeout
	recheck     *time.Timer // the next look at a run still not gone
	done        func()
}

const (
	// groupPoll is how often fallback mode looks whether a stopped run's group and members are gone: its
	// members are the daemon's children or adopted orphans, reaped promptly once killed, but no event says that
	// the last one went.
	groupPoll = 20 * time.Millisecond
	// cgroupRecheck is how often cgroup mode re-reads cgroup.events of a run being stopped: inotify was seen to
	// miss the "populated 0" change once in seven runs (REFERENCE-NEXT.md section 8).
	cgroupRecheck = 500 * time.Millisecond
)

// haltBegin starts h: sig to the run's group now, SIGKILL to all of it after h.timeout.
func (d *Daemon) haltBegin(h *halt, sig syscall.Signal) {
	if h.begun || h.over {
		return
	}
	h.begun = true
	if h.cg != nil {
		d.halts[h.cg] = h
	} else {
		h.tree = h.members()
	}
	if !h.leaderGone {
		signal := platform.SignalGroup
		if h.leaderOnly {
			signal = platform.Signal
		}
		if err := signal(h.pid, sig); err != nil {
			d.log.Printf("%s[%d]: %v", h.name, h.id, err)
		}
	}
	h.timer = time.AfterFunc(h.timeout, func() {
		d.postIfRunning(func() {
			if !h.over {
				d.haltHard(h)
			}
		})
	})
	d.haltCheck(h)
}

// haltHard SIGKILLs what is left of h's run at kill_timeout.
func (d *Daemon) haltHard(h *halt) {
	h.graceOver = true
	if h.cg != nil {
		if !h.cg.Populated() && h.leaderGone {
			d.haltCheck(h)
			return
		}
		d.log.Printf("%s[%d]: still alive after kill_timeout %v, killing cgroup %s", h.name, h.id, h.timeout, h.cg.Path())
		if err := h.cg.Kill(); err != nil {
			d.log.Printf("%s[%d]: %v", h.name, h.id, err)
		}
		d.haltCheck(h)
		return
	}
	d.log.Printf("%s[%d]: still alive after kill_timeout %v, sending SIGKILL", h.name, h.id, h.timeout)
	platform.SignalGroup(h.pid, syscall.SIGKILL)
	for _, m := range h.members() {
		if !containsID(h.tree, m) {
			h.tree = append(h.tree, m)
		}
	}
	d.killIDs(h.name, h.id, h.tree)
	d.haltCheck(h)
}

// haltLeaderGone notes that h's leader was reaped.
func (d *Daemon) haltLeaderGone(h *halt) {
	h.leaderGone = true
	d.haltCheck(h)
}

// haltCheck ends h when nothing of its run is left; before begin, it only notices a run that ended on its own.
func (d *Daemon) haltCheck(h *halt) {
	if h.over || !h.leaderGone {
		return
	}
	if h.cg != nil {
		if !h.cg.Populated() {
			d.haltEnd(h)
			return
		}
		if h.begun {
			d.haltLookAgain(h, cgroupRecheck) // the inotify event usually comes first
		}
		return
	}
	if !platform.GroupAlive(h.pid) && !anyRunning(h.tree) {
		var late []platform.ProcID
		for _, m := range h.members() {
			if !containsID(h.tree, m) {
				late = append(late, m)
			}
		}
		switch {
		case len(late) == 0 && (!d.contain.unsure || h.unsurePolls >= maxUnsurePolls):
			d.haltEnd(h)
			return
		case len(late) == 0:
			h.unsurePolls++ // an orphan in the middle of execve: look again once it is through
		default:
			d.log.Printf("%s[%d]: %d process(es) forked during the stop outlive the app: %s", h.name, h.id, len(late),
				procIDs(late))
			h.tree = append(h.tree, late...)
			if h.graceOver {
				d.killIDs(h.name, h.id, late)
			}
		}
	}
	if h.begun {
		d.haltLookAgain(h, groupPoll)
	}
}

// haltLookAgain checks h again after delay (one pending look at a time).
func (d *Daemon) haltLookAgain(h *halt, delay time.Duration) {
	if h.recheck != nil {
		return
	}
	h.recheck = time.AfterFunc(delay, func() {
		d.postIfRunning(func() {
			h.recheck = nil
			d.haltCheck(h)
		})
	})
}

// haltEnd finishes h (or abandons it: a start that replaces the run) and runs done.
func (d *Daemon) haltEnd(h *halt) {
	d.haltDrop(h)
	if h.done != nil {
		h.done()
	}
}

// haltDrop forgets h without running done.
func (d *Daemon) haltDrop(h *halt) {
	h.over = true
	if h.timer != nil {
		h.timer.Stop()
	}
	if h.recheck != nil {
		h.recheck.Stop()
		h.recheck = nil
	}
	if h.cg != nil && d.halts[h.cg] == h {
		delete(d.halts, h.cg)
	}
}

// cgroupChanged is called (on the loop) when a run's cgroup.events changed: a halt waiting for it looks.
func (d *Daemon) cgroupChanged(g *cgroup.Group) {
	if h := d.halts[g]; h != nil {
		d.haltCheck(h)
	}
}

// killIDs SIGKILLs every process of ids that is still the process it names (pidfds: a reused pid is never hit).
func (d *Daemon) killIDs(name string, id int, ids []platform.ProcID) {
	for _, m := range ids {
		if err := platform.Kill(m, syscall.SIGKILL); err != nil {
			d.log.Printf("%s[%d]: %v", name, id, err)
		}
	}
}

func containsID(ids []platform.ProcID, m platform.ProcID) bool {
	for _, x := range ids {
		if x == m {
			return true
		}
	}
	return false
}
