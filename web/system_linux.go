package web

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// hostFigures fills the host's load, memory and uptime and the daemon's RSS from /proc.
func hostFigures(s *System) {
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		f := strings.Fields(string(b))
		for i := 0; i < 3 && i < len(f); i++ {
			s.Load[i], _ = strconv.ParseFloat(f[i], 64)
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		s.MemoryTotal = meminfo(b, "MemTotal:")
		s.MemoryAvailable = meminfo(b, "MemAvailable:")
		if s.MemoryTotal >= s.MemoryAvailable {
			s.MemoryUsed = s.MemoryTotal - s.MemoryAvailable
		}
	}
	if b, err := os.ReadFile("/proc/uptime"); err == nil {
		if f := strings.Fields(string(b)); len(f) > 0 {
			s.Uptime, _ = strconv.ParseFloat(f[0], 64)
		}
	}
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		s.DaemonRSS = meminfo(b, "VmRSS:")
	}
}

// meminfo returns the field key (as "MemTotal:") of a /proc file of "Key: N kB" lines, in bytes.
func meminfo(b []byte, key string) uint64 {
	i := bytes.Index(b, []byte("\n"+key))
	if i < 0 {
		if !bytes.HasPrefix(b, []byte(key)) {
			return 0
		}
	} else {
		b = b[i+1:]
	}
	line, _, _ := bytes.Cut(b[len(key):], []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) == 0 {
		return 0
	}
	n, _ := strconv.ParseUint(f[0], 10, 64)
	if len(f) > 1 && f[1] == "kB" {
		n *= 1024
	}
	return n
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat's times: 100 on every Linux architecture gpm builds for.
const clockTicks = 100

// processFigures are the figures of client_golang's process collector, from /proc/self.
func processFigures() []processFigure {
	var out []processFigure
	if b, err := os.ReadFile("/proc/self/stat"); err == nil {
		// Fields after the command name, which is in parentheses and may hold spaces.
		if i := bytes.LastIndexByte(b, ')'); i > 0 {
			f := strings.Fields(string(b[i+1:]))
			// f[0] is field 3 (state): utime is field 14, stime 15, starttime 22, vsize 23.
			if len(f) > 20 {
				ut, _ := strconv.ParseFloat(f[11], 64)
				st, _ := strconv.ParseFloat(f[12], 64)
				start, _ := strconv.ParseFloat(f[19], 64)
				vsize, _ := strconv.ParseFloat(f[20], 64)
				out = append(out,
					processFigure{"process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", true, (ut + st) / clockTicks},
					processFigure{"process_virtual_memory_bytes", "Virtual memory size in bytes.", false, vsize})
				if bt := bootTime(); bt > 0 {
					out = append(out, processFigure{"process_start_time_seconds", "Start time of the process since unix epoch in seconds.", false, bt + start/clockTicks})
				}
			}
		}
	}
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		out = append(out, processFigure{"process_resident_memory_bytes", "Resident memory size in bytes.", false, float64(meminfo(b, "VmRSS:"))})
	}
	if ents, err := os.ReadDir("/proc/self/fd"); err == nil {
		out = append(out, processFigure{"process_open_fds", "Number of open file descriptors.", false, float64(len(ents))})
	}
	var rl unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_NOFILE, &rl) == nil {
		out = append(out, processFigure{"process_max_fds", "Maximum number of open file descriptors.", false, float64(rl.Cur)})
	}
	return out
}

// bootTime is the host's boot, in seconds since the epoch (0 when unknown), read once.
var bootTime = sync.OnceValue(readBootTime)

func readBootTime() float64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	i := bytes.Index(b, []byte("\nbtime "))
	if i < 0 {
		return 0
	}
	line, _, _ := bytes.Cut(b[i+7:], []byte("\n"))
	n, _ := strconv.ParseFloat(strings.TrimSpace(string(line)), 64)
	return n
}
