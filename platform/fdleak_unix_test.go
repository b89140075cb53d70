//go:build unix

package platform

import (
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestStartPassesOnlyItsFiles: a started app gets stdin, stdout, stderr and its ExtraFiles, and none of the
// daemon's other descriptors. A descriptor the daemon inherited without close-on-exec (the CLI that spawned it
// inherits the invoking shell's: `exec 7</etc/shadow; gpm start ...` as root) reached every app, those running as
// another user too (seen: an app of `gpm start` listed the shell's fd 7 -> /etc/hostname and a pipe of the tool
// that ran it, which then never saw its end of file).
func TestStartPassesOnlyItsFiles(t *testing.T) {
	// A descriptor such as the daemon inherits: without close-on-exec (F_DUPFD leaves it off), and numbered
	// above what the child opens itself.
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	stray, err := unix.FcntlInt(f.Fd(), unix.F_DUPFD, 100)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(stray)
	extra, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer extra.Close()
	users := []int{-1}
	if os.Geteuid() == 0 {
		users = append(users, 65534) // nobody: an app running as another user
	}
	for _, uid := range users {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		// The shell lists its descriptors: 0-3, and the one its glob reads the directory with.
		pid, err := Start(&Cmd{Path: "/bin/sh", Args: []string{"sh", "-c", "cd /dev/fd && echo *"}, UID: uid, GID: uid,
			Stdout: w, Stderr: w, ExtraFiles: []*os.File{extra}})
		w.Close()
		if err != nil {
			r.Close()
			t.Fatal(err)
		}
		r.SetReadDeadline(time.Now().Add(20 * time.Second))
		out, err := io.ReadAll(r)
		r.Close()
		var ws unix.WaitStatus
		unix.Wait4(pid, &ws, 0, nil)
		if err != nil {
			t.Fatalf("uid %d: reading the child's output: %v", uid, err)
		}
		fds := strings.Fields(string(out))
		if !slices.Contains(fds, "3") {
			t.Errorf("uid %d: the child's descriptors %v lack its ExtraFiles' fd 3", uid, fds)
		}
		if slices.Contains(fds, strconv.Itoa(stray)) {
			t.Errorf("uid %d: the child's descriptors %v hold the daemon's stray fd %d", uid, fds, stray)
		}
		if len(fds) > 5 {
			t.Errorf("uid %d: the child's descriptors %v: more than 0-3 and the one it reads /dev/fd with", uid, fds)
		}
	}
}
