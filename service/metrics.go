package service

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"time"

	"github.com/gpmd/gpm/api"
	"github.com/gpmd/gpm/platform"
	"github.com/gpmd/gpm/platform/cgroup"
)

// treeAccountingEnv set to "off" makes the sampler read each app's leader only, as gpm did before it accounted
// for the whole tree (the benchmark's baseline: bench/tree.sh).
const treeAccountingEnv = "GPM_TREE_ACCOUNTING"

// idleSampleEvery stretches the sampling interval while no one needs the figures at once: with no subscriber
// (gpm monit, the dashboard, the D-Bus and HTTP services), no running app with max_memory_restart and every running
// process sampled twice in its run (its cpu figure exists), the sampler reads every idleSampleEvery intervals (6 s
// by default) instead of every one. gpm ls then shows the cpu of the last 6 s and a memory figure at most 6 s old;
// a subscriber that arrives brings the interval back at once (sampleSoon). The daemon's idle CPU is mostly the cost
// of a sample (bench/all.sh "idle").
const idleSampleEvery = 3

// sampleSoon tells the sampler that someone now needs samples every interval (a subscriber arrived): it samples
// at once when the last sample is an interval old, else an interval after it. It never blocks.
func (d *Daemon) sampleSoon() {
	select {
	case d.sampling <- struct{}{}:
	default:
	}
}

// sample reads cpu and memory of every running app at a fixed interval, off the loop, so that `gpm ls` answers
// from memory instead of scanning processes on every call (PM2 #5369). It also enforces max_memory_restart. Both
// figures are the app process's whole tree: in cgroup mode its cgroup's cpu.stat and memory.current (or the RSS of
// cgroup.procs without the memory controller); in fallback mode the leader and its descendants.
func (d *Daemon) sample(ctx context.Context) {
	interval := d.opts.SampleInterval
	t := time.NewTimer(interval)
	defer t.Stop()
	// At start no collection has run, so the live heap reads 0 and the limit is Options.MemoryLimit itself (>= 4
	// MB): set it without the first metrics.Read, which builds the runtime's metrics table while the first apps
	// start. From the first collection on, tuneEachGC follows the heap.
	if d.opts.MemoryLimit > 0 {
		debug.SetMemoryLimit(max(d.opts.MemoryLimit, 4<<20))
	}
	d.tuneEachGC(ctx)
	leaderOnly := os.Getenv(treeAccountingEnv) == "off"
	type target struct {
		id, pid int
		cg      *cgroup.Group
		cpuBase time.Duration
	}
	type reading struct {
		id, pid int
		cpuTime float64
		rss     uint64
		at      time.Time
	}
	// Kept from one sample to the next: no allocation per sample once they have grown.
	var targets []target
	var readings []reading
	var last time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-d.sampling:
			if wait := interval - time.Since(last); wait > 0 {
				t.Reset(wait)
				continue
			}
		}
		last = time.Now()
		d.tuneMemoryLimit()
		targets = targets[:0]
		if d.exec(ctx, func() {
			for _, p := range d.procs {
				if p.pid != 0 && !p.stopAsked {
					targets = append(targets, target{p.id, p.pid, p.cg, p.cpuBase})
				}
			}
		}) != nil {
			return
		}
		readings = readings[:0]
		for _, tg := range targets {
			var cpu float64
			var rss uint64
			switch {
			case leaderOnly:
				c, r, ok := platform.Usage(tg.pid)
				if !ok {
					continue
				}
				cpu, rss = c, r
			case tg.cg != nil:
				u, err := tg.cg.Usage()
				if err != nil {
					continue
				}
				cpu, rss = (u.CPU - tg.cpuBase).Seconds(), u.Memory
			default:
				c, r, ok := platform.TreeUsage(tg.pid, 1+maxSampledProcs)
				if !ok {
					continue
				}
				cpu, rss = c, r
			}
			readings = append(readings, reading{tg.id, tg.pid, cpu, rss, time.Now()})
		}
		fast := false
		if d.exec(ctx, func() {
			for _, r := range readings {
				p := d.procs[r.id]
				if p == nil || p.pid != r.pid {
					continue
				}
				if !p.sampledAt.IsZero() && p.sampledAt.After(p.startedAt) {
					if wall := r.at.Sub(p.sampledAt).Seconds(); wall > 0 {
						// A descendant that exited takes its cpu time out of a fallback-mode sum: never negative.
						p.cpu = max(0, (r.cpuTime-p.cpuTime)/wall*100)
					}
				} else {
					fast = true // its first sample of this run: its cpu figure needs a second one
				}
				p.cpuTime, p.mem, p.sampledAt = r.cpuTime, r.rss, r.at
				if lim := p.app.MaxMemoryRestart; lim > 0 && int64(r.rss) > lim && !p.stopAsked {
					d.log.Printf("%s[%d]: memory of its tree %d B over max_memory_restart %d B, restarting", p.app.Name, p.id, r.rss, lim)
					p.restarts++
					p.reason = fmt.Sprintf("memory %d B over max_memory_restart %d B", r.rss, lim)
					d.stop(p, func() { d.start(p, nil) })
				}
			}
			if d.hub.active() {
				d.publishSample()
			}
			fast = fast || d.sampleEveryInterval()
		}) != nil {
			return
		}
		next := interval
		if !fast {
			next *= idleSampleEvery
		}
		t.Reset(next - time.Since(last))
	}
}

// sampleEveryInterval reports whether someone needs a sample every interval (on the loop): a subscriber, a running
// app with max_memory_restart, or a running process not sampled yet in its run. The sampler also keeps the
// interval after a process's first sample of its run (its cpu figure needs a second one).
func (d *Daemon) sampleEveryInterval() bool {
	if d.hub.active() {
		return true
	}
	for _, p := range d.procs {
		if p.pid != 0 && !p.stopAsked && (p.app.MaxMemoryRestart > 0 || p.sampledAt.IsZero() || !p.sampledAt.After(p.startedAt)) {
			return true
		}
	}
	return false
}

// publishSample publishes the figures of every running process as one api.EventSample (on the loop), for the live
// views (gpm monit, the dashboard) that would otherwise poll "list".
func (d *Daemon) publishSample() {
	samples := make([]api.Sample, 0, len(d.procs))
	for _, p := range d.sorted() {
		if p.pid != 0 && !p.sampledAt.IsZero() {
			samples = append(samples, api.Sample{ID: p.id, PID: p.pid, CPU: p.cpu, Memory: p.mem, CPUSeconds: p.cpuTime})
		}
	}
	d.hub.publish(api.Event{Type: api.EventSample, Time: time.Now(), Samples: samples})
}

// maxSampledProcs bounds the descendants one app's sample reads in fallback mode (platform.TreeUsage, through
// /proc/PID/task/*/children: a few reads per process of the app, where a snapshot reads every process of the
// machine): a fork bomb must not hold the sampler (its figure is then a lower bound).
const maxSampledProcs = 4096

// tuneMemoryLimit keeps the soft memory limit at max(Options.MemoryLimit, the runtime's memory outside the heap plus
// twice the live heap plus memoryHeadroom). The Go heap otherwise grows to twice its peak and keeps it: a low limit
// returns memory to the system (the daemon's live heap is about 2 MB with 50 apps). A fixed limit would make the
// collector run without pause once a daemon with many apps outgrew it, so the limit follows the live heap.
//
// The limit counts all the runtime's memory, not only the heap: goroutine stacks (two or three per app), the heap's
// metadata and the runtime's own. With 100 apps and the HTTP API on these were 10 MB of the 13.7 MB the runtime
// held, over a limit of max(10 MB, 2×1.6+4 MB): the heap was left no room at all, and each /metrics scrape ran the
// collector a dozen times (GODEBUG=gctrace=1: 14 cycles a scrape, heap goal 1 MB; the scrape took 24-34 ms
// instead of 3). The memory outside the heap is therefore added to the limit, and the heap keeps room for a burst
// of garbage (a scrape, a list of every app) above twice its live part.
func (d *Daemon) tuneMemoryLimit() {
	if d.opts.MemoryLimit <= 0 {
		return
	}
	debug.SetMemoryLimit(memoryLimit(d.opts.MemoryLimit))
}

// tuneEachGC runs tuneMemoryLimit at the end of every collection until ctx ends, where the sampler alone ran it
// every SampleInterval: a burst (a bulk writer's lines queued for an event stream) raised the live heap within
// milliseconds, and until the next sample the old limit held the heap at it, a collection every 2 ms (GODEBUG=
// gctrace=1: 480 in a 5 s burst of log lines). The live heap is known at the end of a collection; the cleanup of
// an object dropped at once runs then.
func (d *Daemon) tuneEachGC(ctx context.Context) {
	if d.opts.MemoryLimit <= 0 {
		return
	}
	var arm func()
	arm = func() {
		runtime.AddCleanup(new(gcSentinel), func(struct{}) {
			if ctx.Err() == nil {
				d.tuneMemoryLimit()
				arm()
			}
		}, struct{}{})
	}
	arm()
}

// gcSentinel is dropped as soon as it is made, for its cleanup to run after the next collection; 64 bytes, as the
// runtime batches smaller objects without pointers (the tiny allocator), whose cleanups might never run.
type gcSentinel struct{ _ [64]byte }

// memoryHeadroom is the heap's room beyond twice its live part under the soft memory limit: the spans' unused
// space and the free pages not yet returned count against the limit too. Measured with 50 and 100 apps on a busy
// 2-core machine (2026-12-05): 1 MB, and 50 scrapes of /metrics with 100 apps ran the collector 108 times (median
// 9-10 ms); 2 MB, 15-19 times (as 4 MB); daemon RSS with 50 apps, API off, against main's policy: +0.1-0.3 MB with 1 MB,
// about +0.7 MB with 4 MB.
const memoryHeadroom = 2 << 20

// memoryLimit is tuneMemoryLimit's limit: max(floor, memory outside the heap + 2×live heap + memoryHeadroom).
func memoryLimit(floor int64) int64 {
	s := []metrics.Sample{
		{Name: "/gc/heap/live:bytes"},
		{Name: "/memory/classes/total:bytes"},
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/unused:bytes"},
		{Name: "/memory/classes/heap/free:bytes"},
		{Name: "/memory/classes/heap/released:bytes"},
	}
	metrics.Read(s)
	v := make([]int64, len(s))
	for i := range s {
		if s[i].Value.Kind() == metrics.KindUint64 {
			v[i] = int64(s[i].Value.Uint64())
		}
	}
	live, total := v[0], v[1]
	// Stacks, heap metadata, the runtime's own: total less the heap's spans (objects, unused, free, released).
	outside := max(0, total-v[2]-v[3]-v[4]-v[5])
	return max(floor, outside+2*live+memoryHeadroom)
}
