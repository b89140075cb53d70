package logfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCopyPartialLine_Issue14Item11: a line whose newline is slow to come is written PartialFlush after its first
// byte, unmarked; its rest follows without a second prefix, and the line ends whole at its newline.
func TestCopyPartialLine_Issue14Item11(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "out.log")
	f, err := Open(path, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	done := make(chan error, 1)
	go func() { done <- Copy(r, []*File{f}, Format{TimeLayout: "[T]"}, nil, nil) }()
	read := func() string {
		b, _ := os.ReadFile(path)
		return string(b)
	}
	waitFor := func(want string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for read() != want {
			if time.Now().After(deadline) {
				t.Fatalf("log %q, want %q", read(), want)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	w.Write([]byte("whole\nprogress ."))
	waitFor("[T]: whole\n[T]: progress .")
	w.Write([]byte(".."))
	waitFor("[T]: whole\n[T]: progress ...")
	w.Write([]byte(" done\nlast"))
	w.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got, want := read(), "[T]: whole\n[T]: progress ... done\n[T]: last\n"; got != want {
		t.Errorf("log %q, want %q", got, want)
	}
	if strings.Contains(read(), cutMarker) {
		t.Errorf("a partial line was marked as cut")
	}
}
