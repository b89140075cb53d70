package main

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/gpmd/gpm/api"
)

// TestShownSkipsConfig: a list decoded for the table keeps every field the table shows and drops only the config.
func TestShownSkipsConfig(t *testing.T) {
	started := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	full := []api.Process{
		{ID: 1, Name: "web", Namespace: "shop", PID: 42, Status: "online", Restarts: 2, Mode: "cluster",
			UptimeMS: 5000, StartedAt: &started, CPU: 1.5, Memory: 1 << 20, StatusText: "ready"},
		{ID: 2, Name: "worker", Status: "errored", Reason: "crash loop"},
	}
	full[0].Config.Name, full[0].Config.Script, full[0].Config.Env = "web", "/srv/web", map[string]string{"K": "v"}
	b, err := json.Marshal(full)
	if err != nil {
		t.Fatal(err)
	}
	var list []shown
	if err := json.Unmarshal(b, &list); err != nil {
		t.Fatal(err)
	}
	got := processes(list)
	if len(got) != len(full) {
		t.Fatalf("%d processes, want %d", len(got), len(full))
	}
	for i := range full {
		want := full[i]
		want.Config = got[i].Config // the one difference allowed
		gb, _ := json.Marshal(got[i])
		wb, _ := json.Marshal(want)
		if string(gb) != string(wb) {
			t.Errorf("process %d:\n got %s\nwant %s", i, gb, wb)
		}
		if got[i].Config.Script != "" || got[i].Config.Env != nil {
			t.Errorf("process %d: config decoded (%+v), want it skipped", i, got[i].Config)
		}
	}
}
