// Package cgroup holds each app process of the daemon in a cgroup v2 of its own, where the host lets gpm write
// one: the whole tree of an app is then one unit to signal (cgroup.kill), to wait for (cgroup.events "populated 0")
// and to account (cpu.stat, memory.current or the RSS of cgroup.procs), and a double-forked setsid child cannot
// leave it. Linux only; elsewhere Open says why not and the daemon keeps its process-group containment.
//
// Layout (the kernel's cgroup-v2.rst and systemd's CGROUP_DELEGATION are the rules followed):
//
//	<subtree>/daemon            the daemon itself, when the subtree is its own (delegated) cgroup: a cgroup that
//	                            enables controllers for its children may hold no process ("no internal processes")
//	<subtree>/app-<name>-<id>   one per running process of an app (and -<n> beside it while an earlier run of the
//	                            same process still drains or dies)
//
// The subtree is, in order of preference: the daemon's own cgroup when systemd delegated it (Delegate=yes: the
// trusted.delegate or user.delegate attribute); else, for root, gpm-<hash of GPM_HOME> at the top of the
// hierarchy (a container's root, a host without systemd, or a service without Delegate=).
package cgroup

import (
	"errors"
	"time"
)

// Limits are the hard limits of one app process's cgroup; a zero field is no limit.
type Limits struct {
	MemoryMax int64 // bytes, memory.max (memory controller)
	CPUQuota  int   // percent of one cpu, cpu.max (cpu controller)
	TasksMax  int   // pids.max (pids controller)
}

// Usage is what one cgroup's processes used.
type Usage struct {
	CPU time.Duration // cpu.stat usage_usec: every process that ever ran in the cgroup, the dead ones included
	// Memory is memory.current when the memory controller is on, else the sum of the RSS of cgroup.procs.
	Memory uint64
	// MemoryCurrent says that Memory is memory.current (page cache and kernel memory included).
	MemoryCurrent bool
}

// ErrUnsupported is returned by Open outside Linux.
var ErrUnsupported = errors.New("cgroups are a Linux feature")

// MaxSlots bounds the cgroups one app process may have at once: its running one plus earlier runs that still
// drain (a reload) or die (SIGKILLed leftovers of a crash). More than that is refused with an error naming it.
const MaxSlots = 4

// MaxNameLen bounds the app-name part of a cgroup's name (a path component is at most 255 bytes).
const MaxNameLen = 64
