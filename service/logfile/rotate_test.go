package logfile

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// readAll returns the lines of the rotated files of path, oldest first, then of path itself, decompressing.
func readAll(t *testing.T, path string) []string {
	t.Helper()
	var lines []string
	for _, f := range append(Rotated(path), path) {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		var r io.Reader = fh
		if strings.HasSuffix(f, ".gz") {
			zr, err := gzip.NewReader(fh)
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			r = zr
		}
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			lines = append(lines, sc.Text())
		}
		if err := sc.Err(); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		fh.Close()
	}
	return lines
}

// TestRotationNoLineLost_Issue12 writes lines at full speed through a pipe into a File rotating by size, across
// 20 rotations and more, with compression off and on: every line is there once, whole and in order.
func TestRotationNoLineLost_Issue12(t *testing.T) {
	for _, compress := range []bool{false, true} {
		t.Run(fmt.Sprintf("compress=%v", compress), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "app-out.log")
			f, err := Open(path, -1)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			const maxSize = 32 << 10
			f.SetRotation(Rotation{MaxSize: maxSize, Retain: 1000, Compress: compress,
				OnError: func(err error) { t.Errorf("background: %v", err) }})
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			const n = 40000 // about 1.2 MB: over 30 rotations
			go func() {
				bw := bufio.NewWriterSize(w, 4096)
				for i := range n {
					fmt.Fprintf(bw, "line %06d %s\n", i, strings.Repeat("x", i%40))
				}
				bw.Flush()
				w.Close()
			}()
			if err := Copy(r, NewLines([]*File{f}, Format{}, nil, func(err error) { t.Errorf("write: %v", err) })); err != nil {
				t.Fatal(err)
			}
			waitIdle()
			rotated := Rotated(path)
			if len(rotated) < 20 {
				t.Fatalf("%d rotations, want at least 20", len(rotated))
			}
			for _, r := range rotated {
				if compress != strings.HasSuffix(r, ".gz") {
					t.Errorf("%s: compressed %v, want %v", r, !compress, compress)
				}
				if st, err := os.Stat(r); err == nil && !compress && st.Size() > maxSize {
					t.Errorf("%s: %d bytes, over MaxSize %d", r, st.Size(), maxSize)
				}
			}
			lines := readAll(t, path)
			if len(lines) != n {
				t.Errorf("%d lines, want %d", len(lines), n)
			}
			for i, l := range lines {
				if want := fmt.Sprintf("line %06d %s", i, strings.Repeat("x", i%40)); l != want {
					t.Fatalf("line %d is %q, want %q", i, l, want)
				}
			}
		})
	}
}

// TestRotationSharedPath_Issue12: two Files on one path (merged instances) rotate it once and both move to the new
// file; no line is left in a renamed file after a rotation of the other File, none lost or duplicated.
func TestRotationSharedPath_Issue12(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app-out.log")
	a, err := Open(path, -1)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Open(path, -1)
	if err != nil {
		t.Fatal(err)
	}
	a.SetRotation(Rotation{MaxSize: 16 << 10, Retain: 1000})
	const n = 20000
	var wg sync.WaitGroup
	for k, f := range []*File{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range n {
				if _, err := fmt.Fprintf(f, "w%d %06d\n", k, i); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	a.Close()
	b.Close()
	waitIdle()
	if len(Rotated(path)) < 20 {
		t.Fatalf("%d rotations, want at least 20", len(Rotated(path)))
	}
	next := [2]int{}
	for _, l := range readAll(t, path) {
		var k, i int
		if _, err := fmt.Sscanf(l, "w%d %d", &k, &i); err != nil || k < 0 || k > 1 {
			t.Fatalf("bad line %q", l)
		}
		if i != next[k] {
			t.Fatalf("writer %d: line %d, want %d", k, i, next[k])
		}
		next[k]++
	}
	if next != [2]int{n, n} {
		t.Errorf("lines per writer %v, want %d each", next, n)
	}
}

// TestRotationRetain_Issue12: only the newest Retain rotated files stay.
func TestRotationRetain_Issue12(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app-out.log")
	f, err := Open(path, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.SetRotation(Rotation{Retain: 3})
	for i := range 10 {
		fmt.Fprintf(f, "line %d\n", i)
		if err := f.Rotate(); err != nil {
			t.Fatal(err)
		}
	}
	waitIdle()
	got := Rotated(path)
	if len(got) != 3 {
		t.Fatalf("rotated files %v, want 3", got)
	}
	lines := readAll(t, path)
	if strings.Join(lines, ",") != "line 7,line 8,line 9" {
		t.Errorf("kept %q, want the last three", lines)
	}
	// Names sort as they were made, within one second too.
	if !strings.HasPrefix(filepath.Base(got[0]), "app-out__") || !strings.HasSuffix(got[0], ".log") {
		t.Errorf("name %s, want app-out__<stamp>[_N].log", got[0])
	}
}

type every time.Duration

func (e every) Next(t time.Time) time.Time { return t.Add(time.Duration(e)) }

// TestRotationSchedule_Issue12: a schedule rotates a non-empty file at its times; an empty one is left alone.
func TestRotationSchedule_Issue12(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app-out.log")
	f, err := Open(path, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.SetRotation(Rotation{Schedule: every(20 * time.Millisecond)})
	fmt.Fprintf(f, "one\n")
	deadline := time.Now().Add(10 * time.Second)
	for len(Rotated(path)) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no rotation by schedule within 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	fmt.Fprintf(f, "two\n")
	for len(Rotated(path)) < 2 {
		if time.Now().After(deadline) {
			t.Fatal("no second rotation by schedule within 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	f.SetRotation(Rotation{}) // stops the schedule
	if got := strings.Join(readAll(t, path), ","); got != "one,two" {
		t.Errorf("lines %q, want one,two", got)
	}
	if n := len(Rotated(path)); n != 2 {
		t.Errorf("%d rotated files, want 2 (an empty file is not rotated)", n)
	}
}
