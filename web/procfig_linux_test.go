package web

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The process figures agree with /proc/self/stat and /proc/self/status, which client_golang reads.
func TestProcessFigures(t *testing.T) {
	got := map[string]float64{}
	for _, p := range processFigures() {
		got[p.name] = p.value
	}
	for _, name := range []string{"process_cpu_seconds_total", "process_virtual_memory_bytes", "process_resident_memory_bytes",
		"process_start_time_seconds", "process_open_fds", "process_max_fds"} {
		if _, ok := got[name]; !ok {
			t.Errorf("no %s", name)
		}
	}
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	rss := float64(meminfo(b, "VmRSS:"))
	if r := got["process_resident_memory_bytes"]; r < rss/2 || r > rss*2 {
		t.Errorf("process_resident_memory_bytes %v, VmRSS %v", r, rss)
	}
	st, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(st[strings.LastIndexByte(string(st), ')')+1:]))
	vsize, _ := strconv.ParseFloat(f[20], 64)
	if v := got["process_virtual_memory_bytes"]; v < vsize/2 || v > vsize*2 {
		t.Errorf("process_virtual_memory_bytes %v, vsize %v", v, vsize)
	}
	ticks, _ := strconv.ParseFloat(f[11], 64)
	sticks, _ := strconv.ParseFloat(f[12], 64)
	if c := got["process_cpu_seconds_total"]; c < (ticks+sticks)/clockTicks-0.05 || c > (ticks+sticks)/clockTicks+1 {
		t.Errorf("process_cpu_seconds_total %v, /proc/self/stat %v", c, (ticks+sticks)/clockTicks)
	}
	if s := got["process_start_time_seconds"]; s > float64(time.Now().Unix())+1 || s < float64(time.Now().Add(-time.Hour).Unix()) {
		t.Errorf("process_start_time_seconds %v: not within the last hour", s)
	}
}
