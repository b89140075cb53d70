package main

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
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

// TestRowFields: ls asks the daemon for exactly row's members, and a row decoded from a whole record (what a daemon
// older than api.ListParams sends) or made by rowsOf holds the same values as the record.
func TestRowFields(t *testing.T) {
	typ := reflect.TypeFor[row]()
	var names []string
	for i := range typ.NumField() {
		name, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
		names = append(names, name)
	}
	if !slices.Equal(names, rowFields) {
		t.Fatalf("row has members %v, rowFields names %v", names, rowFields)
	}
	started := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	full := []api.Process{
		{ID: 1, Name: "web", Namespace: "shop", PID: 42, Status: "online", Restarts: 2, Mode: "cluster",
			UptimeMS: 5000, StartedAt: &started, CPU: 1.5, Memory: 1 << 20, StatusText: "ready", Reason: "r"},
		{ID: 2, Name: "worker", Status: "errored", Reason: "crash loop"},
	}
	full[0].Config.Name, full[0].Config.Script = "web", "/srv/web"
	b, err := json.Marshal(full)
	if err != nil {
		t.Fatal(err)
	}
	var decoded []row
	if err := json.Unmarshal(b, &decoded); err != nil {
		t.Fatal(err)
	}
	if made := rowsOf(full); !slices.Equal(decoded, made) {
		t.Fatalf("decoded %+v, rowsOf %+v", decoded, made)
	}
	want := row{ID: 1, Name: "web", Namespace: "shop", PID: 42, Status: "online", Restarts: 2, Mode: "cluster",
		UptimeMS: 5000, CPU: 1.5, Memory: 1 << 20, StatusText: "ready"}
	if decoded[0] != want {
		t.Fatalf("row %+v, want %+v", decoded[0], want)
	}
}
