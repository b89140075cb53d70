package platform

import (
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestOutputPipeModes(t *testing.T) {
	r, w, err := OutputPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	for _, tt := range []struct {
		end         string
		fd          uintptr
		nonblocking bool
	}{{"read end", r.Fd(), true}, {"write end", w.Fd(), false}} {
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
	// The read end is served by the poller: a deadline works on it.
	if err := r.SetReadDeadline(time.Now().Add(time.Millisecond)); err != nil {
		t.Errorf("read end: SetReadDeadline: %v (not pollable)", err)
	}
}

// TestOutputPipeChildBlocks: a child that writes more than the pipe holds while nobody reads waits, rather than
// failing with EAGAIN as it would on a non-blocking stdout.
func TestOutputPipeChildBlocks(t *testing.T) {
	r, w, err := OutputPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	const size = 1 << 20 // 16 times a default pipe buffer
	cmd := exec.Command("head", "-c", "1048576", "/dev/zero")
	cmd.Stdout = w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	time.Sleep(100 * time.Millisecond) // the child fills the pipe and must wait
	n, err := io.Copy(io.Discard, r)
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child: %v", err)
	}
	if n != size {
		t.Errorf("read %d bytes, want %d", n, size)
	}
}

func TestGrowPipe(t *testing.T) {
	r, w, err := OutputPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	got, err := GrowPipe(r, 1<<20)
	if err != nil {
		t.Skipf("F_SETPIPE_SZ refused here: %v", err)
	}
	if got < 1<<20 && got != pipeMax(t) {
		t.Errorf("pipe size %d, want 1 MiB or pipe-max-size", got)
	}
	// The read end is still served by the poller (SyscallConn, not Fd, which would make it blocking).
	if err := r.SetReadDeadline(time.Now().Add(time.Millisecond)); err != nil {
		t.Errorf("deadline after GrowPipe: %v", err)
	}
}

func pipeMax(t *testing.T) int {
	b, err := os.ReadFile("/proc/sys/fs/pipe-max-size")
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return n
}
