// Package fuzzbudget holds the budgets every fuzz target applies to one call on a fuzzed input, so that the
// parsers of config, config/procfile and the others are held to the same limits.
package fuzzbudget

import (
	"fmt"
	"runtime/metrics"
	"testing"
	"time"
)

// Budgets of one call on a fuzzed input: far above what a process file needs (microseconds, kilobytes), far below
// what a quadratic or exponential path (aliases, error lines, env JSON) takes on an input of the fuzzer's sizes.
const (
	MaxDuration   = 10 * time.Second
	AllocPerByte  = 4096    // bytes allocated per input byte ...
	AllocConstant = 8 << 20 // ... plus this
)

// heapAllocs reads the bytes allocated on the heap since the program started, without stopping the world.
func heapAllocs() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// Bounded runs f on an input of n bytes and fails when it takes longer or allocates more than the budgets allow:
// a hostile process file, dump or request must not stall or balloon the daemon or the CLI. A call that never
// returns panics the process from a timer: the fuzzer saves the input of a crashed worker, not that of a hung one.
func Bounded(t testing.TB, what string, n int, f func()) {
	t.Helper()
	hung := time.AfterFunc(MaxDuration, func() {
		panic(fmt.Sprintf("%s: still running after %v on %d bytes of input", what, MaxDuration, n))
	})
	start, before := time.Now(), heapAllocs()
	f()
	hung.Stop()
	if d := time.Since(start); d > MaxDuration {
		t.Fatalf("%s: %v for %d bytes of input (budget %v)", what, d, n, MaxDuration)
	}
	if a, limit := heapAllocs()-before, uint64(AllocConstant+AllocPerByte*n); a > limit {
		t.Fatalf("%s: allocated %d bytes for %d bytes of input (budget %d)", what, a, n, limit)
	}
}
