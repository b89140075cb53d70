package service

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

func TestPidPool(t *testing.T) {
	type step struct {
		path string // relative to the pid directory; "../" leaves it
		pid  int    // 0 removes
	}
	tests := []struct {
		name  string
		limit int
		steps []step
		want  map[string]string // visible files and their content; absent: must not exist
		free  int               // free files left
	}{
		{"first write creates", 4, []step{{"a-0.pid", 1234}},
			map[string]string{"a-0.pid": "1234\n"}, 0},
		{"remove keeps the file for reuse", 4, []step{{"a-0.pid", 1234}, {"a-0.pid", 0}},
			map[string]string{"a-0.pid": ""}, 1},
		{"a shorter pid over a reused file", 4, []step{{"a-0.pid", 123456}, {"a-0.pid", 0}, {"b-1.pid", 7}},
			map[string]string{"a-0.pid": "", "b-1.pid": "7\n"}, 0},
		{"restart without a remove replaces in place", 4, []step{{"a-0.pid", 10}, {"a-0.pid", 11}},
			map[string]string{"a-0.pid": "11\n"}, 0},
		{"replacing with a free file", 4, []step{{"a-0.pid", 10}, {"b-1.pid", 20}, {"b-1.pid", 0}, {"a-0.pid", 11}},
			map[string]string{"a-0.pid": "11\n", "b-1.pid": ""}, 0},
		{"removing a missing file", 4, []step{{"a-0.pid", 0}},
			map[string]string{"a-0.pid": ""}, 0},
		{"the bound: beyond it removes plainly", 1, []step{{"a-0.pid", 1}, {"b-1.pid", 2}, {"a-0.pid", 0}, {"b-1.pid", 0}},
			map[string]string{"a-0.pid": "", "b-1.pid": ""}, 1},
		{"outside the directory: plain files", 4, []step{{"../run/x.pid", 5}, {"../run/x.pid", 0}, {"../run/x.pid", 6}},
			map[string]string{"../run/x.pid": "6\n"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "pids")
			pp, err := openPidPool(dir, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range tt.steps {
				path := filepath.Join(dir, s.path)
				if s.pid == 0 {
					err = pp.remove(path, -1)
				} else {
					err = pp.write(path, s.pid, -1)
				}
				if err != nil {
					t.Fatalf("%+v: %v", s, err)
				}
			}
			for name, want := range tt.want {
				b, err := os.ReadFile(filepath.Join(dir, name))
				switch {
				case want == "" && !os.IsNotExist(err):
					t.Errorf("%s: %q, %v; want no file", name, b, err)
				case want != "" && (err != nil || string(b) != want):
					t.Errorf("%s: %q, %v; want %q", name, b, err, want)
				}
			}
			if len(pp.files) != tt.free {
				t.Errorf("%d free files, want %d", len(pp.files), tt.free)
			}
			entries, err := os.ReadDir(filepath.Join(dir, ".free"))
			if err != nil || len(entries) != tt.free {
				t.Errorf(".free holds %d entries (%v), want %d", len(entries), err, tt.free)
			}
		})
	}
}

// TestPidPoolReusesFiles: a pid file written after a remove is the removed file itself, not a new inode.
func TestPidPoolReusesFiles(t *testing.T) {
	dir := t.TempDir()
	pp, err := openPidPool(dir, 8)
	if err != nil {
		t.Fatal(err)
	}
	a := filepath.Join(dir, "a-0.pid")
	if err := pp.write(a, 100, -1); err != nil {
		t.Fatal(err)
	}
	before, err := os.Stat(a)
	if err != nil {
		t.Fatal(err)
	}
	if err := pp.remove(a, -1); err != nil {
		t.Fatal(err)
	}
	b := filepath.Join(dir, "b-1.pid")
	if err := pp.write(b, 200, -1); err != nil {
		t.Fatal(err)
	}
	after, err := os.Stat(b)
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(before, after) {
		t.Error("b-1.pid is a new file; want a's file reused")
	}
}

// TestOpenPidPool: a new daemon takes over the free files of the last one, within the bound, and clears the rest.
func TestOpenPidPool(t *testing.T) {
	dir := t.TempDir()
	free := filepath.Join(dir, ".free")
	if err := os.MkdirAll(filepath.Join(free, "subdir"), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"3", "9", "17", "junk"} {
		if err := os.WriteFile(filepath.Join(free, name), []byte("1\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	pp, err := openPidPool(dir, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(pp.files) != 2 {
		t.Errorf("took over %d free files, want 2 (the bound)", len(pp.files))
	}
	entries, _ := os.ReadDir(free)
	if len(entries) != 2 {
		t.Errorf(".free holds %d entries after open, want 2", len(entries))
	}
	// A new free file never takes the name of one taken over.
	a := filepath.Join(dir, "a-0.pid")
	if err := os.WriteFile(a, []byte("5\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	pp.limit = 3
	if err := pp.remove(a, -1); err != nil {
		t.Fatal(err)
	}
	if len(pp.files) != 3 {
		t.Fatalf("%d free files after a remove, want 3", len(pp.files))
	}
	for _, f := range pp.files[:2] {
		if f == pp.files[2] {
			t.Errorf("a removed file took the name %s of a free file", f)
		}
	}
	if n, err := strconv.Atoi(filepath.Base(pp.files[2])); err != nil || n < 10 {
		t.Errorf("new free file %s, want a number past those taken over", pp.files[2])
	}
}

func TestNilPidPool(t *testing.T) {
	var pp *pidPool
	path := filepath.Join(t.TempDir(), "run", "x.pid")
	if err := pp.write(path, 42, -1); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "42\n" {
		t.Fatalf("%q, %v", b, err)
	}
	if err := pp.remove(path, -1); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("still there: %v", err)
	}
}

// The loop's changes never wait for the writer (one stuck on a hung file system held supervision once 1024 were
// queued), the last change of a path is the one applied, and close lets the writer finish what is queued.
func TestPidQueue(t *testing.T) {
	q := newPidQueue()
	put := make(chan struct{})
	go func() {
		defer close(put)
		for i := range 5000 {
			q.put(pidOp{path: fmt.Sprintf("/p/%d", i%2000), pid: i + 1})
		}
		q.put(pidOp{path: "/p/7"}) // a remove after writes
	}()
	select {
	case <-put:
	case <-time.After(30 * time.Second):
		t.Fatal("5000 changes with no writer taking them did not return within 30 s")
	}
	q.close()
	ops, more := q.take(nil)
	if !more || len(ops) != 2000 {
		t.Fatalf("take: %d changes, more %v; want 2000 (one a path), true", len(ops), more)
	}
	for i, op := range ops {
		want := i + 2000 + 1 // the last of i, i+2000 and, below 5000, i+4000
		if i+4000 < 5000 {
			want = i + 4000 + 1
		}
		if i == 7 {
			want = 0
		}
		if op.path != fmt.Sprintf("/p/%d", i) || op.pid != want {
			t.Fatalf("change %d: %+v, want path /p/%d pid %d", i, op, i, want)
		}
	}
	if ops, more := q.take(nil); more || len(ops) != 0 {
		t.Fatalf("take after close and drain: %d, %v; want 0, false", len(ops), more)
	}
}
