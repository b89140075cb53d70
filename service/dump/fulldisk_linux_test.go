package dump

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestFullDisk saves on a real, tiny tmpfs: the save must fail and leave the previous dump intact (PM2 #2971
// purged the dump on ENOSPC).
func TestFullDisk(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=64k"); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v", err)
	}
	t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
	path := filepath.Join(dir, "dump.json")
	if err := Write(path, list("good")); err != nil {
		t.Fatal(err)
	}
	// Fill the disk, leaving less room than the next dump needs.
	fill, _ := os.Create(filepath.Join(dir, "fill"))
	fill.Write(make([]byte, 60<<10))
	fill.Close()
	big := list()
	for i := 0; i < 200; i++ {
		big.Apps = append(big.Apps, list(strings.Repeat("x", 40)+string(rune('a'+i%26))).Apps...)
	}
	err := Write(path, big)
	if !errors.Is(err, unix.ENOSPC) {
		t.Fatalf("save on a full disk: got %v, want ENOSPC", err)
	}
	l, source, _, err := Read(path)
	if err != nil || names(l) != "good" || source != path {
		t.Fatalf("after a failed save: %v from %s, %v; want the previous dump", l, source, err)
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Fatalf("temp file %s left behind", e.Name())
		}
	}
}

// TestFullDiskMessage_Issue11Item15 saves on a full tmpfs: the error names the dump once ("write /x/dump.json: no
// space left on device", which the CLI prints after "gpm save: "), not "write X: write X: ...", nor the temporary
// file, nor the operation a second time.
func TestFullDiskMessage_Issue11Item15(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=16k"); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v", err)
	}
	t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
	fill, _ := os.Create(filepath.Join(dir, "fill"))
	fill.Write(make([]byte, 16<<10))
	fill.Close()
	big := list()
	for i := 0; i < 100; i++ {
		big.Apps = append(big.Apps, list(strings.Repeat("x", 40)).Apps...)
	}
	path := filepath.Join(dir, "dump.json")
	err := Write(path, big)
	if !errors.Is(err, unix.ENOSPC) {
		t.Fatalf("save on a full disk: got %v, want ENOSPC", err)
	}
	want := "write " + path + ": no space left on device"
	if err.Error() != want {
		t.Errorf("save on a full disk: got %q, want %q", err, want)
	}
}
