package service

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"time"

	"github.com/gpmd/gpm/api"
)

// methodStats is a test hook, answered only by a daemon running with GPM_TEST_HOOKS=1: the daemon's goroutines and
// Go memory, which /proc does not show, for the leak test (e2e/leak_test.go) to compare before and after thousands
// of restarts. Fds and RSS the test reads from /proc itself.
const methodStats = "debug.stats"

// DebugStats is the answer of debug.stats.
type DebugStats struct {
	Goroutines int    `json:"goroutines"`
	HeapAlloc  uint64 `json:"heap_alloc"`   // bytes of live and not yet collected heap objects
	HeapInuse  uint64 `json:"heap_inuse"`   // bytes in in-use spans
	HeapObjs   uint64 `json:"heap_objects"` // live and not yet collected heap objects
	Sys        uint64 `json:"sys"`          // bytes obtained from the OS
	StackInuse uint64 `json:"stack_inuse"`  // bytes of goroutine stacks
	Released   uint64 `json:"released"`     // bytes of the heap returned to the OS
	NumGC      uint32 `json:"num_gc"`
	Stacks     string `json:"stacks,omitempty"` // every goroutine's stack, when asked for
}

// methodProfile is a test hook like methodStats: a CPU profile of the daemon for ms milliseconds, or with heap its
// heap profile, written to path (go tool pprof reads it), for a test or a developer to see where a slow or large
// figure goes.
const methodProfile = "debug.profile"

func init() {
	addMethod(methodProfile, func(ctx context.Context, d *Daemon, params json.RawMessage) (any, error) {
		if d.env["GPM_TEST_HOOKS"] != "1" {
			return nil, &api.Error{Code: api.CodeInvalid, Message: fmt.Sprintf("unknown method %q", methodProfile)}
		}
		var p struct {
			Path string `json:"path"`
			MS   int    `json:"ms"`
			Heap bool   `json:"heap"` // the heap's profile now (after a collection), instead of ms of CPU
		}
		if err := json.Unmarshal(params, &p); err != nil || p.Path == "" {
			return nil, &api.Error{Code: api.CodeInvalid, Message: fmt.Sprintf("bad parameters: want path and ms (%v)", err)}
		}
		f, err := os.Create(p.Path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		if p.Heap {
			runtime.GC()
			if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
				return nil, err
			}
			return nil, f.Close()
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return nil, err
		}
		select {
		case <-time.After(time.Duration(p.MS) * time.Millisecond):
		case <-ctx.Done():
		}
		pprof.StopCPUProfile()
		return nil, f.Close()
	})

	addMethod(methodStats, func(ctx context.Context, d *Daemon, params json.RawMessage) (any, error) {
		if d.env["GPM_TEST_HOOKS"] != "1" {
			// As if the method did not exist: a production daemon shows no hooks.
			return nil, &api.Error{Code: api.CodeInvalid, Message: fmt.Sprintf("unknown method %q", methodStats)}
		}
		var p struct {
			GC     bool `json:"gc"`     // collect first, so that HeapAlloc is the live heap
			Stacks bool `json:"stacks"` // add every goroutine's stack (what a leak test shows when it fails)
		}
		if len(params) > 0 {
			if err := json.Unmarshal(params, &p); err != nil {
				return nil, &api.Error{Code: api.CodeInvalid, Message: "bad parameters: " + err.Error()}
			}
		}
		if p.GC {
			runtime.GC()
		}
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		st := DebugStats{
			Goroutines: runtime.NumGoroutine(),
			HeapAlloc:  m.HeapAlloc,
			HeapInuse:  m.HeapInuse,
			HeapObjs:   m.HeapObjects,
			Sys:        m.Sys,
			StackInuse: m.StackInuse,
			Released:   m.HeapReleased,
			NumGC:      m.NumGC,
		}
		if p.Stacks {
			buf := make([]byte, 1<<20)
			st.Stacks = string(buf[:runtime.Stack(buf, true)])
		}
		return st, nil
	})
}
