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

// stop asks p to stop: the kill signal to its process group; after kill_timeout, SIGKILL to the group and to every
// member (contain.go) seen since the stop began. p is down once its leader was reaped, its group is empty and no
// member is left, including one forked during the stop (a setsid child forked on the kill signal). then runs on
// the loop once p is down.
func (d *Daemon) stop(p *proc, then func()) {
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
	p.stopAsked = true
	p.status = api.StatusStopping
	d.emit(p, "")
	p.tree = d.members(p)
	sig, err := platform.ParseSignal(p.app.KillSignal)
	if err != nil {
		sig = syscall.SIGINT
	}
	signal := platform.SignalGroup
	if p.app.NoTreekill {
		signal = platform.Signal // treekill: false: the main process alone; killHard still takes the rest
	}
	if err := signal(p.pid, sig); err != nil {
		d.log.Printf("%s[%d]: %v", p.app.Name, p.id, err)
	}
	d.after(p, p.app.KillTimeout.D(), func() { d.killHard(p) })
}

// killHard SIGKILLs p's group and its members: those recorded since the start of the stop and those there now.
// Then it waits for the group to empty.
func (d *Daemon) killHard(p *proc) {
	if !p.running() {
		return
	}
	d.log.Printf("%s[%d]: still alive after kill_timeout %v, sending SIGKILL", p.app.Name, p.id, p.app.KillTimeout.D())
	platform.SignalGroup(p.pid, syscall.SIGKILL)
	p.tree = append(p.tree, d.newMembers(p, p.tree)...)
	d.killAll(p, p.tree)
	d.waitGroupGone(p)
}

// graceOver reports whether the kill_timeout of p's stop has passed: killHard runs from p's timer, which is
// cleared when it fires.
func graceOver(p *proc) bool { return p.timer == nil }

// waitGroupGone polls until nothing of p is left, then marks p stopped. Members of the group are our children or
// were adopted by us (subreaper), so they are reaped and vanish promptly once killed.
func (d *Daemon) waitGroupGone(p *proc) {
	if !p.leaderGone {
		return // the leader's exit will call back
	}
	if !platform.GroupAlive(p.pid) && !anyRunning(p.tree) {
		// Forked during the stop, after the members were taken: an orphan now (its parent is gone).
		late := d.newMembers(p, p.tree)
		if len(late) == 0 && (!d.contain.unsure || p.unsurePolls >= maxUnsurePolls) {
			d.down(p)
			return
		}
		if len(late) == 0 {
			p.unsurePolls++ // an orphan in the middle of execve: look again once it is through (containment.unsure)
		}
		d.log.Printf("%s[%d]: %d process(es) forked during the stop outlive the app: %s", p.app.Name, p.id, len(late),
			procIDs(late))
		p.tree = append(p.tree, late...)
		if graceOver(p) {
			d.killAll(p, late)
		}
	}
	gen := p.gen
	time.AfterFunc(20*time.Millisecond, func() {
		d.post(func() {
			if p.gen == gen {
				d.waitGroupGone(p)
			}
		})
	})
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

func anyAlive(pids []int) bool {
	for _, pid := range pids {
		if platform.Alive(pid) {
			return true
		}
	}
	return false
}

// down finishes a requested stop.
func (d *Daemon) down(p *proc) {
	p.stopTimer()
	d.removePidFile(p)
	p.pid, p.leaderGone, p.tree, p.stopAsked, p.unsurePolls = 0, false, nil, false, 0
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
		if w := d.draining[e.PID]; w != nil {
			w.exited = true
			d.drainCheck(w)
		}
		return // otherwise an adopted orphan or a group member: reaping it was the whole job
	}
	code := e.Code
	p.exitCode, p.exitSig = &code, e.Signal
	p.leaderGone = true
	uptime := time.Since(p.startedAt)
	if p.stopAsked {
		p.reason = "stopped"
		d.waitGroupGone(p)
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
	if platform.GroupAlive(p.pid) {
		platform.SignalGroup(p.pid, syscall.SIGKILL)
	}
	d.killAll(p, d.members(p))
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
