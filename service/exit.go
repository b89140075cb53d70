package service

import (
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gpmd/gpm/api"
	"github.com/gpmd/gpm/platform"
)

// running reports whether p has a live leader or a group still being killed.
func (p *proc) running() bool { return p.pid != 0 }

// stop asks p to stop, through the stop state machine a reload's drain uses too (halt.go): the kill signal to its
// process group; after kill_timeout, SIGKILL to all of the run (cgroup.kill in cgroup mode; else the group and
// every member seen since the stop began). p is down once its leader was reaped and nothing of the run is left.
// then runs on the loop once p is down.
func (d *Daemon) stop(p *proc, then func()) {
	if w := p.reload; w != nil {
		// A stop (stop, restart, delete, the watchdog, max_memory_restart) while a reload waits for its new worker
		// ends the reload, and the worker it was replacing goes too: put back once the new one is down (restore),
		// it ran on as online under a process asked to stop, or outside the table under a deleted one. then waits
		// for it as well, so that nothing of p runs (or holds its sockets) once then runs.
		p.reload = nil
		if then != nil {
			left, whole := 2, then
			then = func() {
				if left--; left == 0 {
					whole()
				}
			}
			w.done = append(w.done, then)
		}
		d.drainStop(w, nil)
		if p.reloadThen != nil {
			p.reloadThen(fmt.Errorf("%s (id %d): stopped before its new worker was ready; the previous worker (pid %d) is stopped too",
				p.app.Name, p.id, w.pid))
			p.reloadThen = nil
		}
	}
	if then != nil {
		p.settled = append(p.settled, then)
	}
	if !p.running() {
		p.gen++
		p.stopTimer()
		// Nothing supervises what an earlier run left: it goes now, without a grace.
		d.killAll(p, d.members(p))
		if p.status != api.StatusStopped {
			p.status, p.reason = api.StatusStopped, "stopped"
			d.emit(p, p.reason)
		}
		d.settle(p)
		return
	}
	if p.stopAsked {
		return // a stop is already under way; then runs when it ends
	}
	p.gen++
	p.stopTimer()
	p.stopAsked = true
	p.status = api.StatusStopping
	d.emit(p, "")
	sig, err := platform.ParseSignal(p.app.KillSignal)
	if err != nil {
		sig = syscall.SIGINT
	}
	h := &halt{name: p.app.Name, id: p.id, pid: p.pid, cg: p.cg, timeout: p.app.KillTimeout.D(),
		leaderGone: p.leaderGone, leaderOnly: p.app.NoTreekill, members: func() []platform.ProcID { return d.members(p) }}
	h.done = func() {
		if p.halt == h {
			d.down(p)
		}
	}
	p.halt = h
	d.haltBegin(h, sig)
}

// maxUnsurePolls bounds how long a stop waits for an orphan whose environment reads empty (an exec under way) to
// show whether it belongs to the app: 25 polls of 20 ms. An unrelated orphan with a really empty environment (env -i)
// costs every stop meanwhile that much.
const maxUnsurePolls = 25

// procIDs lists pids for a log line.
func procIDs(ids []platform.ProcID) string {
	s := make([]string, len(ids))
	for i, m := range ids {
		s[i] = strconv.Itoa(m.PID)
	}
	return strings.Join(s, " ")
}

// down finishes a requested stop.
func (d *Daemon) down(p *proc) {
	p.stopTimer()
	d.removePidFile(p)
	d.releaseCgroup(p)
	p.pid, p.leaderGone, p.halt, p.stopAsked = 0, false, nil, false
	d.noteRunning()
	p.gen++
	p.status = api.StatusStopped
	if p.reason == "" {
		p.reason = "stopped"
	}
	if p.failReason != "" {
		p.status, p.reason, p.failReason = api.StatusErrored, p.failReason, ""
	}
	d.emit(p, p.reason)
	d.settle(p)
}

// onExit handles a reaped child.
func (d *Daemon) onExit(e platform.Exit) {
	var p *proc
	for _, q := range d.procs {
		if q.pid == e.PID && !q.leaderGone {
			p = q
			break
		}
	}
	if p == nil {
		if d.actionExited(e) {
			return // a process-file action (action.go): its trigger waits for the exit
		}
		if w := d.draining[e.PID]; w != nil {
			d.haltLeaderGone(w.halt)
		}
		return // otherwise an adopted orphan or a group member: reaping it was the whole job
	}
	code := e.Code
	p.exitCode, p.exitSig = &code, e.Signal
	p.leaderGone = true
	uptime := time.Since(p.startedAt)
	if p.stopAsked {
		p.reason = "stopped"
		if p.halt != nil {
			d.haltLeaderGone(p.halt)
		}
		return
	}
	if p.reload != nil {
		// The new worker died before it was ready: the old one keeps serving.
		p.leaderGone = false
		d.reloadFailed(p, fmt.Sprintf("new worker exited before it was ready (code %d%s)", e.Code, sigSuffix(e.Signal)))
		return
	}
	// The leader died on its own: what it leaves in its group, and the orphans that carry its GPM_ID, have lost
	// their supervisor and would hold the app's ports against the restart (or run on while it shows stopped), so
	// they go now.
	if p.cg != nil {
		// The whole run, whatever left the group; the next run gets a cgroup of its own while this one empties.
		if err := p.cg.Kill(); err != nil {
			d.log.Printf("%s[%d]: %v", p.app.Name, p.id, err)
		}
	} else if platform.GroupAlive(p.pid) {
		platform.SignalGroup(p.pid, syscall.SIGKILL)
	}
	d.killAll(p, d.members(p))
	d.releaseCgroup(p)
	d.removePidFile(p)
	p.pid, p.leaderGone = 0, false
	d.noteRunning()
	dec := decide(&p.app, p.unstable, p.backoff, exitFacts{code: e.Code, signal: e.Signal, uptime: uptime})
	if dec.unstable {
		p.unstable++
	}
	if uptime >= backoffReset {
		p.backoff = 0
	}
	p.reason = dec.reason
	switch dec.act {
	case actStop:
		p.status = api.StatusStopped
		d.emit(p, dec.reason)
	case actErrored:
		p.status = api.StatusErrored
		d.log.Printf("%s[%d]: errored: %s", p.app.Name, p.id, dec.reason)
		d.emit(p, dec.reason)
	case actRestart:
		p.backoff = dec.backoff
		if dec.delay > 0 {
			// Counted when it happens, as PM2 counts it: waiting shows the restarts done so far, and a waiting
			// process stopped or started by hand meanwhile was not restarted by the policy.
			p.status = api.StatusWaiting
			p.reason = fmt.Sprintf("%s; restarting in %v", dec.reason, dec.delay)
			d.after(p, dec.delay, func() { p.restarts++; d.start(p, nil) })
			p.nextStart = time.Now().Add(dec.delay) // after d.after, which clears it
			d.emit(p, p.reason)
			return
		}
		p.restarts++
		p.status = api.StatusLaunching // between the exit and the new pid: not online
		d.emit(p, dec.reason)
		d.start(p, nil)
		return
	}
	d.settle(p)
}
