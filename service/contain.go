package service

import (
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/gpmd/gpm/api"
	"github.com/gpmd/gpm/platform"
)

// Containment, fallback mode: what belongs to one running process of an app when there is no cgroup to hold it
// (issue 12 adds one cgroup per process where cgroup v2 allows it, and replaces members with cgroup.procs; the stop
// in exit.go keeps its shape: kill signal to the group, SIGKILL to everything at kill_timeout, "gone" when nothing
// is left).
//
// A running process is:
//   - its process group (every app starts as a group leader), signalled as a whole;
//   - the descendants of its leader, found in a snapshot of /proc parent links; a double fork whose middle process
//     has not exited yet is still a descendant, so the grandchild is caught either way;
//   - the orphans the daemon adopted as a subreaper (a double fork's grandchild, a setsid child whose parent died)
//     that carry its GPM_HOME and GPM_ID in their environment, and their descendants. Only the daemon's own children
//     are read this way: an orphan always lands on the daemon, which is the nearest subreaper above every app.
//
// What escapes: an orphan that exec'd with an environment cleared of GPM_ID (env -i) before its parent died. The
// cgroup mode has no such gap.

// containment is the daemon's fallback-containment state. Owned by the loop, except wake, which is set once (on
// the loop) before the run record's writer starts.
type containment struct {
	orphansOf *platform.Tree // the loop turn's snapshot orphans was computed with
	orphans   map[int][]int  // the adopted orphans of that turn, by the GPM_ID in their environment
	// unsure: among the orphans of that turn, one had an empty environment. A process in the middle of execve(2)
	// shows an empty /proc/PID/environ for a moment (the new image's is not set up yet): a setsid child forked
	// on the stop signal, exec'ing as the app's group empties, was missed that way (1 stop in 7 on a loaded
	// machine). A stop that finds nothing but such an orphan looks again (waitGroupGone).
	unsure bool
	wake   chan struct{} // tells the run record's writer that the set of leaders changed (leftover.go)
}

// procTree returns this loop turn's snapshot of the process tree: a stop of many apps scans /proc once, not once
// per app, and never sees a tree older than the turn.
func (d *Daemon) procTree() *platform.Tree {
	if d.tree == nil {
		d.tree = platform.Snapshot()
	}
	return d.tree
}

// descendants returns the processes below pid in this loop turn's snapshot.
func (d *Daemon) descendants(pid int) []int { return d.procTree().Descendants(pid) }

// adopted returns the orphans the daemon adopted, by the GPM_ID of their environment. The daemon's children that
// are leaders or drains are not orphans; an orphan whose environment names another GPM_HOME, or none, or cannot be
// read, is not attributed. It reads the daemon's children only (not a snapshot of every process: a leader that
// crashes looks for orphans, and crash loops are frequent), and caches the answer with this loop turn's snapshot
// when there is one: a stop of many apps reads the environments once.
func (d *Daemon) adopted() map[int][]int {
	if d.tree != nil && d.contain.orphansOf == d.tree {
		return d.contain.orphans
	}
	var orphans map[int][]int
	unsure := false
	if kids := platform.ChildrenOf(os.Getpid()); len(kids) > 0 {
		ours := make(map[int]bool, len(d.procs)+len(d.draining))
		for _, p := range d.procs {
			if p.pid != 0 {
				ours[p.pid] = true
			}
		}
		for pid := range d.draining {
			ours[pid] = true
		}
		for _, pid := range kids {
			if ours[pid] {
				continue
			}
			home, id, ok, empty := gpmMarks(pid)
			unsure = unsure || empty
			if ok && home == d.opts.Home {
				if orphans == nil {
					orphans = map[int][]int{}
				}
				orphans[id] = append(orphans[id], pid)
			}
		}
	}
	d.contain.unsure = unsure
	if d.tree != nil {
		d.contain.orphansOf, d.contain.orphans = d.tree, orphans
	}
	return orphans
}

// gpmMarks reads the GPM_HOME and GPM_ID that gpm put in pid's environment when it started it (or an ancestor);
// hasID is false when there is no GPM_ID or the environment cannot be read. empty reports an environment read as
// empty: a process in the middle of execve(2) shows one for a moment (containment.unsure).
func gpmMarks(pid int) (home string, id int, hasID, empty bool) {
	env, err := platform.Environ(pid)
	if err != nil {
		return "", 0, false, false
	}
	if len(env) == 0 {
		return "", 0, false, true
	}
	for _, kv := range env {
		if v, found := strings.CutPrefix(kv, idEnv+"="); found {
			n, err := strconv.Atoi(v)
			id, hasID = n, err == nil
		} else if v, found := strings.CutPrefix(kv, api.HomeEnv+"="); found {
			home = v
		}
	}
	return home, id, hasID, false
}

// idEnv is the variable that carries a process's id into its environment (and its children's).
const idEnv = "GPM_ID"

// members returns the processes of p's current run beyond its leader, as this loop turn's snapshot shows them:
// the leader's descendants (while it lives) and the adopted orphans that carry p's GPM_ID with theirs. Each comes
// with its start time, so that a SIGKILL later never reaches a reused pid.
func (d *Daemon) members(p *proc) []platform.ProcID { return d.runMembers(p.pid, p.leaderGone, p.id) }

// runMembers returns the members of the run led by pid: its descendants while the leader lives, and the adopted
// orphans carrying GPM_ID id (none for id -1) with theirs.
func (d *Daemon) runMembers(pid int, leaderGone bool, id int) []platform.ProcID {
	var pids []int
	if pid != 0 && !leaderGone {
		pids = d.descendants(pid)
	}
	for _, o := range d.adopted()[id] {
		pids = append(pids, o)
		pids = append(pids, d.descendants(o)...)
	}
	out := make([]platform.ProcID, 0, len(pids))
	for _, pid := range pids {
		if id, ok := platform.Identify(pid); ok {
			out = append(out, id)
		}
	}
	return out
}

// killAll SIGKILLs every process of ids that is still the process it names.
func (d *Daemon) killAll(p *proc, ids []platform.ProcID) { d.killIDs(p.app.Name, p.id, ids) }

// anyRunning reports whether a process of ids is still alive.
func anyRunning(ids []platform.ProcID) bool {
	return slices.ContainsFunc(ids, platform.Running)
}
