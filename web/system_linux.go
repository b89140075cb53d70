package web

import (
	"bytes"
	"encoding/binary"
	"os"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/gpmd/gpm/internal/rawfile"
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

// processFigures are the figures of client_golang's process collector: cpu time from getrusage(2), memory from
// /proc/self/statm, descriptors from /proc/self/fd, and the start time, read once from /proc/self/stat. (Reading
// /proc/self/stat and /proc/self/status on every scrape cost more than the rest of the process figures.)
func processFigures() []processFigure {
	out := make([]processFigure, 0, 6)
	var ru unix.Rusage
	if unix.Getrusage(unix.RUSAGE_SELF, &ru) == nil {
		cpu := float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
		out = append(out, processFigure{"process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", true, cpu})
	}
	if size, resident, ok := statm(); ok {
		out = append(out,
			processFigure{"process_virtual_memory_bytes", "Virtual memory size in bytes.", false, size},
			processFigure{"process_resident_memory_bytes", "Resident memory size in bytes.", false, resident})
	}
	if start := startTime(); start > 0 {
		out = append(out, processFigure{"process_start_time_seconds", "Start time of the process since unix epoch in seconds.", false, start})
	}
	if n, err := countFDs(); err == nil {
		out = append(out, processFigure{"process_open_fds", "Number of open file descriptors.", false, float64(n)})
	}
	var rl unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_NOFILE, &rl) == nil {
		out = append(out, processFigure{"process_max_fds", "Maximum number of open file descriptors.", false, float64(rl.Cur)})
	}
	return out
}

// statm returns the process's virtual and resident memory in bytes, from /proc/self/statm (the same counts as
// /proc/self/stat's vsize and /proc/self/status's VmRSS, in pages).
func statm() (size, resident float64, ok bool) {
	var buf [128]byte
	b, err := rawfile.Read("/proc/self/statm", buf[:], len(buf))
	if err != nil {
		return 0, 0, false
	}
	f := bytes.Fields(b)
	if len(f) < 2 {
		return 0, 0, false
	}
	pages, err1 := strconv.ParseUint(string(f[0]), 10, 64)
	rss, err2 := strconv.ParseUint(string(f[1]), 10, 64)
	if err1 != nil || err2 != nil {
		return 0, 0, false
	}
	page := float64(os.Getpagesize())
	return float64(pages) * page, float64(rss) * page, true
}

// startTime is when the process started, in seconds since the epoch (0 when unknown), read once.
var startTime = sync.OnceValue(func() float64 {
	var buf [512]byte
	b, err := rawfile.Read("/proc/self/stat", buf[:], 4096)
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses and may hold spaces: f[0] is field 3 (state), and
	// starttime is field 22.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 {
		return 0
	}
	start, _ := strconv.ParseFloat(f[19], 64)
	if bt := bootTime(); bt > 0 {
		return bt + start/clockTicks
	}
	return 0
})

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

// countFDs counts the entries of /proc/self/fd with getdents(2) into one buffer: os.ReadDir made an entry (and
// sorted them) for each of the daemon's descriptors, five or more an app.
func countFDs() (int, error) {
	fd, err := unix.Open("/proc/self/fd", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, err
	}
	defer unix.Close(fd)
	var buf [8 << 10]byte
	n := 0
	for {
		m, err := unix.Getdents(fd, buf[:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, err
		}
		if m <= 0 {
			break
		}
		// struct linux_dirent64: d_ino (8 bytes), d_off (8), d_reclen (2), d_type (1), d_name.
		for off := 0; off+19 < m; {
			reclen := int(binary.NativeEndian.Uint16(buf[off+16:]))
			if reclen == 0 {
				break
			}
			if name := buf[off+19:]; !(name[0] == '.' && (name[1] == 0 || (name[1] == '.' && name[2] == 0))) {
				n++
			}
			off += reclen
		}
	}
	return n, nil // this function's own descriptor included, as client_golang counts them
}
