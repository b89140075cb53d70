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
	go func() { done <- Copy(r, NewLines([]*File{f}, Format{TimeLayout: "[T]"}, nil, nil)) }()
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

// A line flushed in part and then ended by the next write leaves no read deadline behind: the copy goes on (a
// deadline restored after the flush's probe once ended an app's copy with "i/o timeout", and its app then blocked
// on a full pipe).
func TestCopyAfterPartialFlushGoesOn(t *testing.T) {
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
	go func() { done <- Copy(r, NewLines([]*File{f}, Format{}, nil, nil)) }()
	waitFor := func(want string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			b, _ := os.ReadFile(path)
			if string(b) == want {
				return
			}
			select {
			case err := <-done:
				t.Fatalf("the copy ended (%v) with the log at %q, want %q", err, b, want)
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("log %q, want %q", b, want)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	w.Write([]byte("progress ."))
	waitFor("progress .") // flushed after PartialFlush
	w.Write([]byte(" done\n"))
	waitFor("progress . done\n")
	// Longer than PartialFlush with nothing pending: a stale deadline would end the copy here.
	time.Sleep(2 * PartialFlush) // the time the daemon waits on is what is tested: not a wait for a condition
	w.Write([]byte("next\n"))
	waitFor("progress . done\nnext\n")
	w.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestCopyLongLineWhole: a line longer than maxLine (a JSON record of 300 KB, say) reaches the file as the app wrote
// it: the part held when maxLine is reached is written without a newline of its own and the rest follows, under
// one time prefix. It was written as a line of its own, and the record was cut in two at 64 KiB.
func TestCopyLongLineWhole(t *testing.T) {
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
	var emitted strings.Builder // what a follower (gpm logs) is handed
	lines := NewLines([]*File{f}, Format{TimeLayout: "[T]"}, func(l Line) { emitted.Write(l.Text) }, nil)
	done := make(chan error, 1)
	go func() { done <- Copy(r, lines) }()
	long := strings.Repeat("0123456789abcdef", 300<<10/16) // 300 KiB, over maxLine
	go func() {
		w.Write([]byte("before\n" + long + "\nafter\n"))
		w.Close()
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	if got, want := string(b), "[T]: before\n[T]: "+long+"\n[T]: after\n"; got != want {
		got := strings.Split(got, "\n")
		t.Fatalf("the long line was not written whole: the file has %d lines (want 3), of %v bytes", len(got)-1,
			func() (n []int) {
				for _, l := range got {
					n = append(n, len(l))
				}
				return n
			}())
	}
	if got, want := emitted.String(), "[T]: before"+"[T]: "+long+"[T]: after"; got != want {
		t.Errorf("the follower got %d bytes, want %d", len(got), len(want))
	}
}
