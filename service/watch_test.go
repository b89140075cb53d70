package service

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/gpmd/gpm/config"
)

func TestWatchFilterIgnored(t *testing.T) {
	const cwd = "/srv/app"
	tests := []struct {
		name   string
		watch  []string
		ignore []string
		path   string
		want   bool
	}{
		{"a source file", []string{"."}, nil, "/srv/app/src/main.py", false},
		{"node_modules, by default", []string{"."}, nil, "/srv/app/node_modules/x/index.js", true},
		{"a dot file, by default", []string{"."}, nil, "/srv/app/.env", true},
		{"in a dot directory, by default", []string{"."}, nil, "/srv/app/.git/index", true},
		{"outside the watched paths", []string{"src"}, nil, "/srv/app/docs/a.md", true},
		{"inside a watched path", []string{"src"}, nil, "/srv/app/src/a/b.go", false},
		{"a watched file", []string{"config.json"}, nil, "/srv/app/config.json", false},
		{"a sibling of a watched file", []string{"config.json"}, nil, "/srv/app/other.json", true},
		{"an absolute watch path", []string{"/etc/app"}, nil, "/etc/app/app.conf", false},
		{"a given list replaces the default", []string{"."}, []string{"logs"}, "/srv/app/node_modules/x.js", false},
		{"a name anywhere", []string{"."}, []string{"logs"}, "/srv/app/a/logs/x", true},
		{"a path prefix", []string{"."}, []string{"./src/gen"}, "/srv/app/src/gen/x.go", true},
		{"not a prefix of a name", []string{"."}, []string{"src/gen"}, "/srv/app/src/generated.go", false},
		{"a glob on the name", []string{"."}, []string{"*.log"}, "/srv/app/a/b/c.log", true},
		{"a glob on the path", []string{"."}, []string{"tmp/*"}, "/srv/app/tmp/x", true},
		{"a glob that does not match", []string{"."}, []string{"*.log"}, "/srv/app/a.txt", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &proc{app: config.App{Cwd: cwd, Watch: tt.watch, IgnoreWatch: tt.ignore}}
			f := newWatchFilter(p)
			if got := f.ignored(tt.path); got != tt.want {
				t.Errorf("ignored(%s) = %v, want %v", tt.path, got, tt.want)
			}
		})
	}
}

// A watched tree with more directories than MaxWatchDirs gets that many inotify watches and one line saying so;
// directories removed give their watches back, and later ones are watched again.
func TestWatchDirLimit(t *testing.T) {
	root := t.TempDir()
	for i := range MaxWatchDirs + 50 {
		if err := os.Mkdir(filepath.Join(root, fmt.Sprintf("d%05d", i)), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	var logged []string
	p := &proc{app: config.App{Cwd: root, Watch: []string{"."}}}
	tw := &treeWatch{w: w, f: newWatchFilter(p), logf: func(format string, args ...any) { logged = append(logged, fmt.Sprintf(format, args...)) }}
	if err := tw.add(root); err != nil {
		t.Fatal(err)
	}
	if n := len(w.WatchList()); n != MaxWatchDirs {
		t.Fatalf("%d directories watched, want MaxWatchDirs (%d)", n, MaxWatchDirs)
	}
	if len(logged) != 1 || !strings.Contains(logged[0], "service.MaxWatchDirs") {
		t.Fatalf("log %q, want one line naming the limit", logged)
	}
	if err := tw.add(filepath.Join(root, "d00000")); err != nil || len(logged) != 1 {
		t.Fatalf("another add at the limit: %v, log %q (one line only)", err, logged)
	}
	// Removed directories' watches are the kernel's to drop; fsnotify forgets them with their IN_IGNORED, which its
	// reader sees once the events before it are taken (as watchLoop takes them).
	go func() {
		for range w.Events {
		}
	}()
	for i := range 10 {
		if err := os.Remove(filepath.Join(root, fmt.Sprintf("d%05d", i))); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for len(w.WatchList()) > MaxWatchDirs-10 {
		if time.Now().After(deadline) {
			t.Fatalf("%d watches 30 s after 10 watched directories were removed", len(w.WatchList()))
		}
		time.Sleep(10 * time.Millisecond)
	}
	fresh := filepath.Join(root, "fresh")
	if err := os.Mkdir(fresh, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := tw.add(fresh); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(w.WatchList(), "\n"), fresh) {
		t.Fatalf("%s not watched once directories were removed below the limit", fresh)
	}
}
