package service

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gpmd/gpm/api"
)

// TestRunRecordIssue11Item11: the run record reads back what was written; an absent one is empty; one beyond
// maxRunRecordBytes is refused with an error that names the limit.
func TestRunRecordIssue11Item11(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, runRecordName)
	if rec, err := readRunRecord(path); err != nil || len(rec.Procs) != 0 {
		t.Fatalf("absent record: %+v, %v", rec, err)
	}
	want := &runRecord{BootID: "b", Procs: []runEntry{{PID: 7, Start: 42, ID: 3, Name: "web", KillSignal: "SIGTERM", KillTimeout: 500}}}
	if err := writeRunRecord(path, want); err != nil {
		t.Fatal(err)
	}
	got, err := readRunRecord(path)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("read back %+v, %v; want %+v", got, err, want)
	}
	if _, err := os.Stat(path + ".tmp"); !os.IsNotExist(err) {
		t.Errorf("the temporary file is left: %v", err)
	}
	if err := os.Truncate(path, maxRunRecordBytes+1); err != nil {
		t.Fatal(err)
	}
	if _, err := readRunRecord(path); err == nil || !strings.Contains(err.Error(), "maxRunRecordBytes") {
		t.Errorf("oversized record: %v, want an error naming maxRunRecordBytes", err)
	}
}

// TestUnfinishedMark: a daemon that ends cleanly removes its pid file, and the next one of the home does not sweep
// for leftovers; a pid file left behind (kill -9, a crash) makes the next one sweep.
func TestUnfinishedMark(t *testing.T) {
	home, err := os.MkdirTemp("", "gpm-unfinished-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(home) })
	pidFile := filepath.Join(home, api.PidName)
	for i, left := range []bool{false, false, true, false} {
		if left {
			if err := os.WriteFile(pidFile, []byte("999999\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		d, stop := runDaemonAt(t, home)
		<-d.Serving()
		if d.unfinished != left {
			t.Errorf("run %d: unfinished = %v with a pid file left = %v", i, d.unfinished, left)
		}
		stop()
		if _, err := os.Stat(pidFile); !os.IsNotExist(err) {
			t.Fatalf("run %d: the pid file is left after a clean end: %v", i, err)
		}
	}
}
