//go:build !linux

package snapshot

import (
	"fmt"
	"runtime"

	"github.com/shirou/gopsutil/v4/load"
	"github.com/shirou/gopsutil/v4/mem"
)

// ReadHost reads the host line's figures through gopsutil (load averages are zero where the OS has none, as on
// Windows).
func ReadHost() (Host, error) {
	h := Host{CPUs: runtime.NumCPU()}
	if l, err := load.Avg(); err == nil {
		h.Load = [3]float64{l.Load1, l.Load5, l.Load15}
	}
	v, err := mem.VirtualMemory()
	if err != nil {
		return h, fmt.Errorf("host: memory: %w", err)
	}
	h.MemTotal, h.MemUsed = v.Total, v.Total-min(v.Available, v.Total)
	return h, nil
}
