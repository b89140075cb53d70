package snapshot

import "testing"

func TestParseProc(t *testing.T) {
	load, err := parseLoadavg([]byte("0.52 0.58 0.59 1/467 12345\n"))
	if err != nil || load != [3]float64{0.52, 0.58, 0.59} {
		t.Errorf("parseLoadavg = %v, %v", load, err)
	}
	if _, err := parseLoadavg([]byte("0.5\n")); err == nil {
		t.Error("parseLoadavg accepted one field")
	}
	total, avail, err := parseMeminfo([]byte("MemTotal:       16314920 kB\nMemFree:          512000 kB\nMemAvailable:    8157460 kB\nBuffers: 1 kB\n"))
	if err != nil || total != 16314920*1024 || avail != 8157460*1024 {
		t.Errorf("parseMeminfo = %d, %d, %v", total, avail, err)
	}
	// Before Linux 3.14: no MemAvailable.
	_, avail, err = parseMeminfo([]byte("MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 10 kB\nCached: 200 kB\n"))
	if err != nil || avail != 310*1024 {
		t.Errorf("parseMeminfo without MemAvailable: %d, %v", avail, err)
	}
	if _, _, err := parseMeminfo([]byte("nothing\n")); err == nil {
		t.Error("parseMeminfo accepted no MemTotal")
	}
	h, err := ReadHost()
	if err != nil || h.CPUs < 1 || h.MemTotal == 0 || h.MemUsed > h.MemTotal {
		t.Errorf("ReadHost = %+v, %v", h, err)
	}
}
