// Package snapshot is what the live console (package console) shows, without a terminal and without its TUI
// libraries: the host's figures (load, cpus, memory) and the process table printed once (`gpm monit --once`). The
// gpm binary links this package and not the console, whose libraries cost every CLI call and the daemon time and
// memory at start (their package inits).
package snapshot

import (
	"fmt"
	"strings"
)

// Host is the machine's line at the top of the console: load averages, cpus, memory.
type Host struct {
	Load     [3]float64 // 1, 5 and 15 minute load averages
	CPUs     int
	MemTotal uint64 // bytes
	MemUsed  uint64 // bytes: total less what the kernel says is available (page cache counts as free)
}

// String is the host line: "load 0.12 0.30 0.25 · 2 cpus · mem 1.2G/3.8G".
func (h Host) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "load %.2f %.2f %.2f · %d cpus", h.Load[0], h.Load[1], h.Load[2], h.CPUs)
	if h.MemTotal > 0 {
		fmt.Fprintf(&b, " · mem %s/%s", HumanBytes(h.MemUsed), HumanBytes(h.MemTotal))
	}
	return b.String()
}
