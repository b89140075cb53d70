//go:build unix

package journal

import (
	"bufio"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestReadLongEntryNoHang: an entry longer than Read's line buffer (any local process may log one with the app's
// GPM_APP= field) ends Read with an error naming the limit, rather than leaving journalctl blocked on a full pipe
// that nobody reads and Read waiting for its exit for ever (`gpm logs` of a journal app hung).
//
// journalctl here is a stand-in in PATH that writes what a journalctl -o json would for such an entry, and more
// after it: no journald runs in a test's environment.
func TestReadLongEntryNoHang(t *testing.T) {
	dir := t.TempDir()
	script := "#!/bin/sh\n" +
		"echo '{\"MESSAGE\":\"first\",\"PRIORITY\":\"6\"}'\n" +
		"printf '{\"MESSAGE\":\"'; head -c 2000000 /dev/zero | tr '\\0' x; echo '\",\"PRIORITY\":\"6\"}'\n" +
		"i=0; while [ $i -lt 200 ]; do head -c 10000 /dev/zero | tr '\\0' y; echo; i=$((i+1)); done\n"
	if err := os.WriteFile(filepath.Join(dir, "journalctl"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	var got []string
	done := make(chan error, 1)
	go func() {
		done <- Read(context.Background(), []string{"GPM_APP=x"}, 10, false, func(e Entry) error {
			got = append(got, e.Message)
			return nil
		})
	}()
	select {
	case err := <-done:
		if !errors.Is(err, bufio.ErrTooLong) || !strings.Contains(err.Error(), "MaxEntry") {
			t.Errorf("Read of an over-long entry: %v; want an error wrapping bufio.ErrTooLong that names the limit", err)
		}
		if len(got) != 1 || got[0] != "first" {
			t.Errorf("entries before the long one: %q, want [first]", got)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Read did not return within 20 s of an over-long entry: journalctl blocked on its full pipe")
	}
}
