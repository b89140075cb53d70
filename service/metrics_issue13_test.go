package service

import (
	"testing"
	"time"

	"github.com/gpmd/gpm/api"
)

// TestSampleEveryInterval_Issue13: the sampler keeps its interval while someone needs the figures at once (a
// subscriber, an app with max_memory_restart, a process not sampled yet in its run), and may stretch it otherwise.
func TestSampleEveryInterval_Issue13(t *testing.T) {
	d := New(Options{})
	now := time.Now()
	if d.sampleEveryInterval() {
		t.Error("no process: every interval")
	}
	p := &proc{id: 1, pid: 100, startedAt: now.Add(-time.Minute)}
	d.procs[1] = p
	if !d.sampleEveryInterval() {
		t.Error("a process never sampled: not every interval")
	}
	p.sampledAt = now.Add(-2 * time.Minute) // a sample of its previous run
	if !d.sampleEveryInterval() {
		t.Error("a process not sampled in this run: not every interval")
	}
	p.sampledAt = now
	if d.sampleEveryInterval() {
		t.Error("a sampled process, no subscriber, no max_memory_restart: every interval")
	}
	p.app.MaxMemoryRestart = 100 << 20
	if !d.sampleEveryInterval() {
		t.Error("max_memory_restart: not every interval")
	}
	p.stopAsked = true
	if d.sampleEveryInterval() {
		t.Error("max_memory_restart of a process being stopped: every interval")
	}
	p.stopAsked = false
	p.app.MaxMemoryRestart = 0
	s := d.hub.subscribe(func(*api.Event) bool { return true }, false)
	if !d.sampleEveryInterval() {
		t.Error("a subscriber: not every interval")
	}
	d.hub.unsubscribe(s)
	// sampleSoon never blocks, whoever listens.
	for range 3 {
		d.sampleSoon()
	}
}
