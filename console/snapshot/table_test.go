package snapshot

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/gpmd/gpm/api"
)

var t0 = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)

func TestHumanUnits(t *testing.T) {
	if got := HumanBytes(3 << 29); got != "1.5G" {
		t.Errorf("HumanBytes = %s", got)
	}
	if got := HumanDuration(90 * time.Minute); got != "1h" {
		t.Errorf("HumanDuration = %s", got)
	}
}

func TestPrintTable(t *testing.T) {
	var b bytes.Buffer
	started := t0.Add(-3 * time.Minute)
	procs := []api.Process{{ID: 0, Name: "api", Namespace: "web", Status: "online", PID: 5, CPU: 12.5, Memory: 3 << 20,
		Restarts: 2, StartedAt: &started}, {ID: 1, Name: "job\x1b[2J", Namespace: "default", Status: "stopped"}}
	if err := PrintTable(&b, Host{CPUs: 2, MemTotal: 4 << 30, MemUsed: 1 << 30}, nil, procs, t0); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if strings.Contains(out, "\x1b") {
		t.Errorf("escape codes in the plain table: %q", out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 || !strings.Contains(lines[0], "2 cpus · mem 1.0G/4.0G · 2 procs") {
		t.Fatalf("table:\n%s", out)
	}
	if f := strings.Fields(lines[2]); strings.Join(f, " ") != "0 api web online 12.5% 3.0M 2 3m" {
		t.Errorf("api's line: %q", lines[2])
	}
}

func TestClean(t *testing.T) {
	if got := Clean("a\x1b[2Jb\tc\rd\x07"); got != "a[2Jb cd" {
		t.Errorf("Clean = %q, want %q", got, "a[2Jb cd")
	}
}
