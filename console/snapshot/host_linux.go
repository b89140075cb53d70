//go:build linux

package snapshot

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"strconv"
)

// ReadHost reads the host line's figures from /proc/loadavg and /proc/meminfo: two small reads, cheap enough for
// every sample the daemon sends (gopsutil would do the same with more allocations).
func ReadHost() (Host, error) {
	h := Host{CPUs: runtime.NumCPU()}
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return h, fmt.Errorf("host: %w", err)
	}
	if h.Load, err = parseLoadavg(b); err != nil {
		return h, fmt.Errorf("host: /proc/loadavg: %w", err)
	}
	if b, err = os.ReadFile("/proc/meminfo"); err != nil {
		return h, fmt.Errorf("host: %w", err)
	}
	total, avail, err := parseMeminfo(b)
	if err != nil {
		return h, fmt.Errorf("host: /proc/meminfo: %w", err)
	}
	h.MemTotal, h.MemUsed = total, total-min(avail, total)
	return h, nil
}

// parseLoadavg reads the three load averages of /proc/loadavg ("0.12 0.30 0.25 1/234 5678").
func parseLoadavg(b []byte) ([3]float64, error) {
	var load [3]float64
	f := bytes.Fields(b)
	if len(f) < 3 {
		return load, fmt.Errorf("%d fields, want at least 3", len(f))
	}
	for i := range load {
		v, err := strconv.ParseFloat(string(f[i]), 64)
		if err != nil {
			return load, err
		}
		load[i] = v
	}
	return load, nil
}

// parseMeminfo returns MemTotal and MemAvailable of /proc/meminfo in bytes. Kernels before 3.14 have no
// MemAvailable: MemFree + Buffers + Cached stands in for it.
func parseMeminfo(b []byte) (total, avail uint64, err error) {
	var free, buffers, cached uint64
	haveAvail := false
	for line := range bytes.Lines(b) {
		k, v, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		f := bytes.Fields(v)
		if len(f) == 0 {
			continue
		}
		n, perr := strconv.ParseUint(string(f[0]), 10, 64)
		if perr != nil {
			continue
		}
		n *= 1024 // the kernel writes "kB", meaning KiB
		switch string(k) {
		case "MemTotal":
			total = n
		case "MemAvailable":
			avail, haveAvail = n, true
		case "MemFree":
			free = n
		case "Buffers":
			buffers = n
		case "Cached":
			cached = n
		}
	}
	if total == 0 {
		return 0, 0, fmt.Errorf("no MemTotal")
	}
	if !haveAvail {
		avail = free + buffers + cached
	}
	return total, avail, nil
}
