package logfile

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// linesThen feeds Copy numbered lines, one Read each, and calls then once before the first Read after ready()
// turns true: the disk gets space back in the middle of the copy.
type linesThen struct {
	i, n  int
	ready func() bool
	then  func()
}

func (r *linesThen) Read(p []byte) (int, error) {
	if r.i >= r.n {
		return 0, os.ErrClosed
	}
	if r.then != nil && r.ready() {
		r.then()
		r.then = nil
	}
	r.i++
	return copy(p, fmt.Sprintf("line %d %s\n", r.i, strings.Repeat("z", 900))), nil
}

var lineStart = regexp.MustCompile(`line [0-9]+ `)

// TestFullDiskCutLine_Issue11Item13 copies an app's output onto a small, full tmpfs: a short write leaves part of a
// line; when space comes back, that line must be finished with the marker, and the next line start on a line of
// its own (it was "line 15729 zzzzzline 38000").
func TestFullDiskCutLine_Issue11Item13(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=64k"); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v", err)
	}
	t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
	fill := filepath.Join(dir, "fill")
	if err := os.WriteFile(fill, make([]byte, 50<<10), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "out.log")
	f, err := Open(path, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var errs int
	r := &linesThen{n: 60, ready: func() bool { return errs >= 3 }, then: func() { os.Remove(fill) }}
	if err := Copy(r, NewLines([]*File{f}, Format{}, nil, func(error) { errs++ })); err != nil {
		t.Fatal(err)
	}
	if errs == 0 {
		t.Fatal("no write failed: the disk was never full")
	}
	b, _ := os.ReadFile(path)
	var cut, whole int
	for _, l := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		if len(lineStart.FindAllString(l, -1)) != 1 {
			t.Fatalf("a line glued to another: %.60q...%.60q", l, l[max(0, len(l)-60):])
		}
		switch {
		case strings.HasSuffix(l, cutMarker+": no space left on device]"):
			cut++
		case strings.HasSuffix(l, " "+strings.Repeat("z", 900)):
			whole++
		default:
			t.Fatalf("a line cut without the marker: %q", l)
		}
	}
	if cut != 1 || whole == 0 || !strings.Contains(string(b), "line 60 ") {
		t.Fatalf("%d cut lines, %d whole; want one cut line marked and the copy going on to line 60", cut, whole)
	}
}
