package logpump

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gpmd/gpm/service/logfile"
)

func TestPipeModes(t *testing.T) {
	r, w, err := Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	for _, tt := range []struct {
		end         string
		fd          uintptr
		nonblocking bool
	}{{"read end", uintptr(r.fd), true}, {"write end", w.Fd(), false}} {
		fl, err := unix.FcntlInt(tt.fd, unix.F_GETFL, 0)
		if err != nil {
			t.Fatal(err)
		}
		if got := fl&unix.O_NONBLOCK != 0; got != tt.nonblocking {
			t.Errorf("%s: O_NONBLOCK %v, want %v", tt.end, got, tt.nonblocking)
		}
		fd, err := unix.FcntlInt(tt.fd, unix.F_GETFD, 0)
		if err != nil {
			t.Fatal(err)
		}
		if fd&unix.FD_CLOEXEC == 0 {
			t.Errorf("%s: not close-on-exec", tt.end)
		}
	}
}

// logTo opens a log file in a test directory and returns its Lines and a reader of its content.
func logTo(t *testing.T, f logfile.Format, emit func(logfile.Line)) (*logfile.Lines, func() string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "out.log")
	lf, err := logfile.Open(path, -1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lf.Close() })
	return logfile.NewLines([]*logfile.File{lf}, f, emit, func(err error) { t.Errorf("write: %v", err) }), func() string {
		b, _ := os.ReadFile(path)
		return string(b)
	}
}

// waitFor waits until read returns want.
func waitFor(t *testing.T, read func() string, want string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		got := read()
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			if len(got) > 200 {
				got = got[:100] + " ... " + got[len(got)-100:]
			}
			t.Fatalf("log %q (%d bytes), want %d bytes", got, len(got), len(want))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// streams counts the pipes the pump reads.
func streams(t *testing.T) int {
	p, err := thePump()
	if err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.streams)
}

func waitNoStreams(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for streams(t) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d pipes still read after every writer closed", streams(t))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A child that writes more than a pipe holds waits for the pump rather than failing with EAGAIN, and every line
// arrives once, whole and in order.
func TestChildOutputWhole(t *testing.T) {
	r, w, err := Pipe()
	if err != nil {
		t.Fatal(err)
	}
	lines, read := logTo(t, logfile.Format{}, nil)
	cmd := exec.Command("seq", "1", "300000") // 2 MB: 30 default pipes
	cmd.Stdout = w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	time.Sleep(100 * time.Millisecond) // the child fills the pipe and must wait: the wait is what is tested
	Start(r, lines, func(err error) { t.Error(err) }, nil)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child: %v", err)
	}
	want, err := exec.Command("seq", "1", "300000").Output()
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, read, string(want))
	waitNoStreams(t)
}

// TestOneGoroutineForAllPipes: 100 children writing at once are read by one goroutine, and each one's log holds
// all its lines, whole and in order; every pipe leaves the set at its end.
func TestOneGoroutineForAllPipes(t *testing.T) {
	if _, err := thePump(); err != nil {
		t.Fatal(err)
	}
	before := runtime.NumGoroutine()
	const children, n = 100, 2000
	var cmds []*exec.Cmd
	var reads []func() string
	for i := range children {
		r, w, err := Pipe()
		if err != nil {
			t.Fatal(err)
		}
		lines, read := logTo(t, logfile.Format{}, nil)
		reads = append(reads, read)
		Start(r, lines, func(err error) { t.Error(err) }, nil)
		cmd := exec.Command("sh", "-c", fmt.Sprintf(`i=0; while [ $i -lt %d ]; do echo "child-%d line-$i"; i=$((i+1)); done`, n, i))
		cmd.Stdout = w
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		w.Close()
		cmds = append(cmds, cmd)
	}
	if g := runtime.NumGoroutine(); g > before+2 {
		t.Errorf("%d goroutines with %d pipes read, %d before: not one reader for all", g, children, before)
	}
	for _, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Fatal(err)
		}
	}
	for i, read := range reads {
		var want strings.Builder
		for j := range n {
			fmt.Fprintf(&want, "child-%d line-%d\n", i, j)
		}
		waitFor(t, read, want.String())
	}
	waitNoStreams(t)
}

// A line whose newline is slow to come is written PartialFlush after its first byte, its rest follows without a
// second prefix; and with nothing pending, the pump waits without spinning.
func TestPartialLine(t *testing.T) {
	r, w, err := Pipe()
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var emitted []string
	lines, read := logTo(t, logfile.Format{TimeLayout: "[T]"}, func(l logfile.Line) {
		mu.Lock()
		emitted = append(emitted, string(l.Text))
		mu.Unlock()
	})
	Start(r, lines, func(err error) { t.Error(err) }, nil)
	w.Write([]byte("whole\nprogress ."))
	waitFor(t, read, "[T]: whole\n[T]: progress .")
	w.Write([]byte(".."))
	waitFor(t, read, "[T]: whole\n[T]: progress ...")

	// Idle with no line pending: a deadline left behind would make the pump spin.
	cpu0 := cpuTime(t)
	time.Sleep(4 * logfile.PartialFlush) // the quiet time is what is tested
	if used := cpuTime(t) - cpu0; used > 2*logfile.PartialFlush {
		t.Errorf("the process used %v of CPU in %v of quiet: the pump spins", used, 4*logfile.PartialFlush)
	}

	w.Write([]byte(" done\nlast"))
	w.Close()
	waitFor(t, read, "[T]: whole\n[T]: progress ... done\n[T]: last\n")
	waitNoStreams(t)
	mu.Lock()
	defer mu.Unlock()
	if got, want := strings.Join(emitted, "|"), "[T]: whole|[T]: progress .|..| done|[T]: last"; got != want {
		t.Errorf("emitted %q, want %q", got, want)
	}
}

// TestLateLineNotCut: a line's time comes while the pump is busy with another pipe, and its newline is in the pipe
// by then: the pump reads it before it would write the line in part, and the line stays whole.
func TestLateLineNotCut(t *testing.T) {
	var mu sync.Mutex
	var pieces []string
	slowR, slowW, err := Pipe()
	if err != nil {
		t.Fatal(err)
	}
	lateR, lateW, err := Pipe()
	if err != nil {
		t.Fatal(err)
	}
	busy := make(chan struct{})
	slowLines, _ := logTo(t, logfile.Format{}, func(logfile.Line) {
		close(busy)
		time.Sleep(2 * logfile.PartialFlush) // the pump is busy past the late line's time: what is tested
	})
	lateLines, read := logTo(t, logfile.Format{}, func(l logfile.Line) {
		mu.Lock()
		pieces = append(pieces, string(l.Text))
		mu.Unlock()
	})
	Start(slowR, slowLines, func(err error) { t.Error(err) }, nil)
	Start(lateR, lateLines, func(err error) { t.Error(err) }, nil)

	lateW.Write([]byte("start of a line, "))
	unread := func(f *os.File) int {
		n, err := unix.IoctlGetInt(int(f.Fd()), unix.TIOCINQ)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	for deadline := time.Now().Add(30 * time.Second); unread(lateW) > 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the pump never read the pipe")
		}
	}
	slowW.Write([]byte("hold the pump\n"))
	<-busy
	lateW.Write([]byte("its end\n"))
	slowW.Close()
	lateW.Close()
	waitFor(t, read, "start of a line, its end\n")
	waitNoStreams(t)
	mu.Lock()
	defer mu.Unlock()
	if len(pieces) != 1 {
		t.Errorf("the line was emitted in %d pieces %q, want 1", len(pieces), pieces)
	}
}

// A pipe the pump fell behind on grows to chattyPipeSize; a quiet one keeps the default size.
func TestChattyPipeGrows(t *testing.T) {
	quietR, quietW, err := Pipe()
	if err != nil {
		t.Fatal(err)
	}
	chattyR, chattyW, err := Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer quietW.Close()
	defer chattyW.Close()
	line := strings.Repeat("y", 99) + "\n"
	chattyW.Write([]byte(strings.Repeat(line, 600))) // 60 KB waiting before the first read
	quietW.Write([]byte(line))
	ql, qread := logTo(t, logfile.Format{}, nil)
	cl, cread := logTo(t, logfile.Format{}, nil)
	Start(quietR, ql, func(err error) { t.Error(err) }, nil)
	Start(chattyR, cl, func(err error) { t.Error(err) }, nil)
	waitFor(t, qread, line)
	waitFor(t, cread, strings.Repeat(line, 600))
	size := func(f *os.File) int {
		n, err := unix.FcntlInt(f.Fd(), unix.F_GETPIPE_SZ, 0)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if got := size(quietW); got != 64<<10 {
		t.Errorf("quiet pipe: %d bytes, want the default 64 KiB", got)
	}
	if got, want := size(chattyW), pipeSize(); got != want {
		t.Errorf("chatty pipe: %d bytes, want %d", got, want)
	}
}

// The fallback, a goroutine per pipe, carries lines as the pump does.
func TestCopyFile(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	lines, read := logTo(t, logfile.Format{}, nil)
	done := make(chan struct{})
	go func() { copyFile(r, lines, func(err error) { t.Error(err) }, nil); close(done) }()
	w.Write([]byte("a\nb"))
	w.Close()
	<-done
	if got := read(); got != "a\nb\n" {
		t.Errorf("log %q, want %q", got, "a\nb\n")
	}
}

func cpuTime(t *testing.T) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// StartApart reads its pipe on a goroutine of its own, outside the shared pump.
func TestStartApart(t *testing.T) {
	r, w, err := Pipe()
	if err != nil {
		t.Fatal(err)
	}
	lines, read := logTo(t, logfile.Format{}, nil)
	StartApart(r, lines, func(err error) { t.Error(err) }, nil)
	if n := streams(t); n != 0 {
		t.Errorf("%d pipes in the shared pump, want 0", n)
	}
	w.Write([]byte("a\nb"))
	w.Close()
	waitFor(t, read, "a\nb\n")
}
