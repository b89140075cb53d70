package service

import (
	"context"
	"runtime/debug"
	"runtime/metrics"
	"time"

	"github.com/shirou/gopsutil/v4/process"
)

// sample reads cpu and memory of every running app at a fixed interval, off the loop, so that `gpm ls` answers
// from memory instead of scanning processes on every call (PM2 #5369). It also enforces max_memory_restart.
func (d *Daemon) sample(ctx context.Context) {
	t := time.NewTicker(d.opts.SampleInterval)
	defer t.Stop()
	d.tuneMemoryLimit()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		d.tuneMemoryLimit()
		type target struct{ id, pid int }
		var targets []target
		if d.exec(ctx, func() {
			for _, p := range d.procs {
				if p.pid != 0 && !p.stopAsked {
					targets = append(targets, target{p.id, p.pid})
				}
			}
		}) != nil {
			return
		}
		type reading struct {
			id, pid int
			cpuTime float64
			rss     uint64
			at      time.Time
		}
		readings := make([]reading, 0, len(targets))
		for _, tg := range targets {
			pr, err := process.NewProcessWithContext(ctx, int32(tg.pid))
			if err != nil {
				continue
			}
			times, err := pr.TimesWithContext(ctx)
			if err != nil {
				continue
			}
			mem, err := pr.MemoryInfoWithContext(ctx)
			if err != nil {
				continue
			}
			readings = append(readings, reading{tg.id, tg.pid, times.User + times.System, mem.RSS, time.Now()})
		}
		if d.exec(ctx, func() {
			for _, r := range readings {
				p := d.procs[r.id]
				if p == nil || p.pid != r.pid {
					continue
				}
				if !p.sampledAt.IsZero() && p.sampledAt.After(p.startedAt) {
					if wall := r.at.Sub(p.sampledAt).Seconds(); wall > 0 {
						p.cpu = (r.cpuTime - p.cpuTime) / wall * 100
					}
				}
				p.cpuTime, p.mem, p.sampledAt = r.cpuTime, r.rss, r.at
				if lim := p.app.MaxMemoryRestart; lim > 0 && int64(r.rss) > lim && !p.stopAsked {
					d.log.Printf("%s[%d]: memory %d B over max_memory_restart %d B, restarting", p.app.Name, p.id, r.rss, lim)
					p.restarts++
					d.stop(p, func() { d.start(p, nil) })
				}
			}
		}) != nil {
			return
		}
	}
}

// tuneMemoryLimit keeps the soft memory limit at max(Options.MemoryLimit, twice the live heap plus 4 MB). The Go
// heap otherwise grows to twice its peak and keeps it: a low limit returns memory to the system (the daemon's live
// heap is about 2 MB with 50 apps). A fixed limit would make the collector run without pause once a daemon with
// many apps outgrew it, so the limit follows the live heap.
func (d *Daemon) tuneMemoryLimit() {
	if d.opts.MemoryLimit <= 0 {
		return
	}
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	var live int64
	if s[0].Value.Kind() == metrics.KindUint64 {
		live = int64(s[0].Value.Uint64())
	}
	debug.SetMemoryLimit(max(d.opts.MemoryLimit, 2*live+4<<20))
}
