package logfile

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// chunks feeds Copy its input in the given pieces, one Read each, as a pipe would.
type chunks struct{ parts []string }

func (c *chunks) Read(p []byte) (int, error) {
	if len(c.parts) == 0 {
		return 0, io.EOF
	}
	n := copy(p, c.parts[0])
	c.parts[0] = c.parts[0][n:]
	if c.parts[0] == "" {
		c.parts = c.parts[1:]
	}
	return n, nil
}

func TestCopy(t *testing.T) {
	tests := []struct {
		name   string
		parts  []string
		format Format
		want   []string // lines in the file (checked by check when set)
		check  func(t *testing.T, line string)
	}{
		{"whole lines", []string{"a\nb\n"}, Format{}, []string{"a", "b"}, nil},
		{"line split across reads", []string{"hel", "lo\nwor", "ld\n"}, Format{}, []string{"hello", "world"}, nil},
		{"last line without newline is kept", []string{"a\nb"}, Format{}, []string{"a", "b"}, nil},
		{"empty lines kept", []string{"\n\nx\n"}, Format{}, []string{"", "", "x"}, nil},
		{"time prefix", []string{"x\n"}, Format{TimeLayout: "2006"}, nil, func(t *testing.T, l string) {
			if want := fmt.Sprintf("%d: x", time.Now().Year()); l != want {
				t.Fatalf("got %q, want %q", l, want)
			}
		}},
		{"json lines", []string{`say "hi"` + "\n"}, Format{JSON: true, Stream: "err", AppName: "api", ID: 3}, nil,
			func(t *testing.T, l string) {
				var j jsonLine
				if err := json.Unmarshal([]byte(l), &j); err != nil {
					t.Fatal(err)
				}
				if j.Message != `say "hi"` || j.Type != "err" || j.AppName != "api" || j.ProcessID != 3 || j.Timestamp == "" {
					t.Fatalf("bad json line %+v", j)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "out.log")
			f, err := Open(path, -1)
			if err != nil {
				t.Fatal(err)
			}
			var emitted []string
			err = Copy(&chunks{parts: append([]string(nil), tt.parts...)}, NewLines([]*File{f}, tt.format,
				func(l Line) { emitted = append(emitted, string(l.Text)) }, func(err error) { t.Error(err) }))
			if err != nil {
				t.Fatal(err)
			}
			b, _ := os.ReadFile(path)
			lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
			if tt.check != nil {
				tt.check(t, lines[0])
				if len(emitted) != 1 || emitted[0] != lines[0] {
					t.Fatalf("emitted %q, want the line as written: %q", emitted, lines[0])
				}
				return
			}
			if strings.Join(lines, "|") != strings.Join(tt.want, "|") || strings.Join(emitted, "|") != strings.Join(tt.want, "|") {
				t.Fatalf("file %q, emitted %q, want %q", lines, emitted, tt.want)
			}
		})
	}
}

// TestMergedWritersNeverInterleave has several instances append to one file at once: every line stays whole.
func TestMergedWritersNeverInterleave(t *testing.T) {
	path := filepath.Join(t.TempDir(), "merged.log")
	const writers, lines = 4, 5000
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		f, err := Open(path, -1)
		if err != nil {
			t.Fatal(err)
		}
		r, pw := io.Pipe()
		wg.Add(2)
		go func() {
			defer wg.Done()
			Copy(r, NewLines([]*File{f}, Format{}, nil, nil))
			f.Close()
		}()
		go func(w int) {
			defer wg.Done()
			for i := 0; i < lines; i++ {
				fmt.Fprintf(pw, "writer-%d-line-%06d-%s\n", w, i, strings.Repeat("x", 100))
			}
			pw.Close()
		}(w)
	}
	wg.Wait()
	b, _ := os.ReadFile(path)
	got := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(got) != writers*lines {
		t.Fatalf("%d lines, want %d", len(got), writers*lines)
	}
	next := make([]int, writers)
	for _, l := range got {
		var w, i int
		if _, err := fmt.Sscanf(l, "writer-%d-line-%06d-", &w, &i); err != nil || len(l) != len("writer-0-line-000000-")+100 {
			t.Fatalf("broken line %q", l)
		}
		if i != next[w] {
			t.Fatalf("writer %d: line %d after %d: reordered or lost", w, i, next[w]-1)
		}
		next[w]++
	}
}

func TestReopenAndTruncate(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.log")
	f, err := Open(path, -1)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("one\n"))
	os.Rename(path, path+".1") // what logrotate does
	f.Write([]byte("two\n"))   // still goes to the renamed file
	if err := f.Reopen(); err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("three\n"))
	for file, want := range map[string]string{path + ".1": "one\ntwo\n", path: "three\n"} {
		if b, _ := os.ReadFile(file); string(b) != want {
			t.Fatalf("%s = %q, want %q", file, b, want)
		}
	}
	if err := f.Truncate(); err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("four\n"))
	if b, _ := os.ReadFile(path); string(b) != "four\n" {
		t.Fatalf("after truncate: %q", b)
	}
}

func TestNullFiles(t *testing.T) {
	for _, p := range []string{"", "NULL", os.DevNull} {
		f, err := Open(p, -1)
		if err != nil || f.Path() != "" {
			t.Fatalf("Open(%q) = %v, %v; want a discarding file", p, f, err)
		}
		if n, err := f.Write([]byte("x")); n != 1 || err != nil {
			t.Fatalf("discarding write: %d %v", n, err)
		}
	}
}

func TestMissingDirsCreated(t *testing.T) {
	path := filepath.Join(t.TempDir(), "deep", "er", "x.log")
	if _, err := Open(path, -1); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}
}

func TestTail(t *testing.T) {
	dir := t.TempDir()
	var long strings.Builder
	for i := 0; i < 5000; i++ {
		fmt.Fprintf(&long, "line %d\n", i)
	}
	tests := []struct {
		name, content string
		n             int
		want          []string
	}{
		{"fewer lines than asked", "a\nb\n", 5, []string{"a", "b"}},
		{"last n", "a\nb\nc\nd\n", 2, []string{"c", "d"}},
		{"no trailing newline", "a\nb\nc", 2, []string{"b", "c"}},
		{"zero", "a\n", 0, nil},
		{"empty file", "", 3, nil},
		{"across blocks", long.String(), 3, []string{"line 4997", "line 4998", "line 4999"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_"))
			os.WriteFile(p, []byte(tt.content), 0o600)
			got, err := tailLines(p, tt.n)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Fatalf("Tail = %q, want %q", got, tt.want)
			}
		})
	}
	if got, err := tailLines(filepath.Join(dir, "missing"), 3); err != nil || got != nil {
		t.Fatalf("missing file: %q %v", got, err)
	}
}

// TestLinesWriteAllocatesNothing: once its buffer has grown, a Write of whole lines allocates nothing, even with
// collections in between (a sync.Pool, emptied by them, made a daemon with no heap room left allocate a growing
// buffer on every read: 149 collections for one bulk writer).
func TestLinesWriteAllocatesNothing(t *testing.T) {
	chunk := numberedLines(60 << 10)
	l := NewLines([]*File{{}}, Format{}, func(Line) {}, nil)
	l.Write(chunk) // grows the buffer
	if n := testing.AllocsPerRun(20, func() {
		runtime.GC()
		runtime.GC()
		l.Write(chunk)
	}); n > 0 {
		t.Errorf("%.1f allocations a Write after collections, want 0", n)
	}
}
