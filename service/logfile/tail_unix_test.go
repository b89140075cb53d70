//go:build unix

package logfile

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gpmd/gpm/platform/safefs"
)

// appDir makes a directory owned by uid, as an app's own log directory is: what is in it is the app user's choice.
func appDir(t *testing.T, uid int) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("a directory of another user needs root")
	}
	dir := filepath.Join(t.TempDir(), "app")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, uid, uid); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestTailRefusesPlantedLink: `gpm logs` reads an app's log with the daemon's rights (root), so a link that the
// app's user put in place of its log file must not be followed: Tail read /etc/shadow's stand-in and handed its
// lines to the client.
func TestTailRefusesPlantedLink(t *testing.T) {
	const uid = 65534
	dir := appDir(t, uid)
	secret := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secret, []byte("root:SECRET-HASH\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(dir, "app-out.log")
	if err := os.Symlink(secret, log); err != nil {
		t.Fatal(err)
	}
	var got []string
	err := Tail(context.Background(), log, uid, 10, func(l []byte) error {
		got = append(got, string(l))
		return nil
	})
	if strings.Contains(strings.Join(got, "\n"), "SECRET") {
		t.Fatalf("Tail followed the app user's link to a root file: got %q", got)
	}
	if !errors.Is(err, safefs.ErrUnsafe) {
		t.Fatalf("Tail of a planted link: err = %v, want one wrapping safefs.ErrUnsafe", err)
	}
	// The app's own file is still read.
	os.Remove(log)
	if err := os.WriteFile(log, []byte("one\ntwo\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	os.Chown(log, uid, uid)
	got = nil
	if err := Tail(context.Background(), log, uid, 10, func(l []byte) error {
		got = append(got, string(l))
		return nil
	}); err != nil || strings.Join(got, ",") != "one,two" {
		t.Fatalf("Tail of the app's own log: %q, %v; want one,two", got, err)
	}
}

// TestTailFIFONoHang: a FIFO in place of a log file (the app's user made it) must not block the daemon: open(2) of
// a FIFO waits for a writer, for ever, in a thread no context can cancel, and `gpm logs` hung with it.
func TestTailFIFONoHang(t *testing.T) {
	const uid = 65534
	for _, tc := range []struct {
		name string
		dir  func(t *testing.T) string
	}{
		{"app's directory", func(t *testing.T) string { return appDir(t, uid) }},
		{"daemon's directory", func(t *testing.T) string { return t.TempDir() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			log := filepath.Join(tc.dir(t), "app-out.log")
			if err := syscall.Mkfifo(log, 0o644); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() {
				done <- Tail(context.Background(), log, uid, 10, func([]byte) error { return nil })
			}()
			select {
			case err := <-done:
				t.Logf("Tail of a FIFO: %v", err)
			case <-time.After(10 * time.Second):
				// Release the blocked open so the test binary can end.
				if f, err := os.OpenFile(log, os.O_RDWR, 0); err == nil {
					defer f.Close()
				}
				t.Fatal("Tail of a FIFO did not return within 10 s: blocked in open(2)")
			}
		})
	}
}
