package service

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/gpmd/gpm/platform/cgroup"
)

// Containment modes, as jlist and describe name them.
const (
	// containCgroup: each run of an app process in a cgroup v2 of its own (platform/cgroup).
	containCgroup = "cgroup"
	// containGroup: the fallback, the process group plus the tracked members (contain.go).
	containGroup = "process-group"
)

// cgroupEnv turns cgroup containment off when "off" (or "0"): the fallback is then used as on a host without cgroup
// v2, which is how the fallback is tested on a host that has it.
const cgroupEnv = "GPM_CGROUP"

// openContainment picks the containment: cgroups where cgroup v2 is there and writable, else the fallback, with
// the reason either way (logged, and shown by describe). Run calls it before the loop starts.
func (d *Daemon) openContainment() {
	if v := os.Getenv(cgroupEnv); v == "off" || v == "0" {
		d.containMode, d.containWhy = containGroup, cgroupEnv+"="+v
	} else if h, err := cgroup.Open(d.opts.Home); err != nil {
		d.containMode, d.containWhy = containGroup, err.Error()
	} else {
		d.cg = h
		ctl := "no controllers"
		if c := h.Controllers(); len(c) > 0 {
			ctl = "controllers " + strings.Join(c, " ")
		}
		d.containMode, d.containWhy = containCgroup, fmt.Sprintf("%s, %s (%s)", h.Path(), h.Why(), ctl)
	}
	d.log.Printf("containment: %s: %s", d.containMode, d.containWhy)
}

// newCgroup makes the cgroup of p's next run with its limits, and reads its cpu usage so far (a cgroup is reused
// once empty). nil in fallback mode, where a limit is refused. Runs on the loop: a few small writes to cgroupfs.
func (d *Daemon) newCgroup(p *proc) (*cgroup.Group, time.Duration, error) {
	lim := cgroup.Limits{MemoryMax: p.app.MemoryMax, CPUQuota: p.app.CPUQuota, TasksMax: p.app.TasksMax}
	if d.cg == nil {
		if lim != (cgroup.Limits{}) {
			return nil, 0, fmt.Errorf("%s needs cgroup containment, which is off here: %s", limitNames(lim), d.containWhy)
		}
		return nil, 0, nil
	}
	var g *cgroup.Group
	g, err := d.cg.New(p.app.Name, p.id, func() { d.postIfRunning(func() { d.cgroupChanged(g) }) })
	if err != nil {
		return nil, 0, err
	}
	if err := g.SetLimits(lim); err != nil {
		g.Remove()
		return nil, 0, fmt.Errorf("%s: %w", limitNames(lim), err)
	}
	u, _ := g.Usage()
	return g, u.CPU, nil
}

// limitNames names the limits set in l, for an error.
func limitNames(l cgroup.Limits) string {
	var n []string
	if l.MemoryMax > 0 {
		n = append(n, "memory_max")
	}
	if l.CPUQuota > 0 {
		n = append(n, "cpu_quota")
	}
	if l.TasksMax > 0 {
		n = append(n, "tasks_max")
	}
	return strings.Join(n, ", ")
}

// dropCgroup releases the cgroup of a start that failed.
func (j *spawnJob) dropCgroup() {
	if j.cg != nil {
		j.cg.Remove()
		j.cg = nil
	}
}

// releaseCgroup releases the cgroup of p's run that ended (its leftovers were killed): removed once empty.
func (d *Daemon) releaseCgroup(p *proc) {
	if p.cg != nil {
		if h := d.halts[p.cg]; h != nil {
			d.haltDrop(h)
		}
		if err := p.cg.Remove(); err != nil {
			d.log.Printf("%s[%d]: %v", p.app.Name, p.id, err)
		}
		p.cg = nil
	}
}

// stopLeftoverCgroups kills what a dead daemon left in this subtree's app cgroups that the sweep by run record and
// environment did not find (a process that cleared GPM_ID from its environment), and removes them. The
// processes were warned by that sweep; this is the SIGKILL. It waits at most leftoverKillWait.
func (d *Daemon) stopLeftoverCgroups() {
	if d.cg == nil {
		return
	}
	left := d.cg.Leftovers()
	for _, g := range left {
		if g.Populated() {
			d.log.Printf("leftover: cgroup %s still holds %d process(es) of a previous daemon: killing them", g.Path(), len(g.Procs()))
			if err := g.Kill(); err != nil {
				d.log.Printf("leftover: %v", err)
			}
		}
	}
	deadline := time.Now().Add(leftoverKillWait)
	for _, g := range left {
		for g.Populated() && time.Now().Before(deadline) {
			time.Sleep(leftoverPoll)
		}
		g.Remove()
	}
}
