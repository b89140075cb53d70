package rawfile

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// Read and Pread return a file whole, whether it fits the caller's buffer or not, and refuse one over the limit
// with an error that names it.
func TestReadSizes(t *testing.T) {
	dir := t.TempDir()
	for _, size := range []int{0, 1, 63, 64, 65, 2047, 2048, 2049, 10000} {
		want := bytes.Repeat([]byte("x"), size)
		path := filepath.Join(dir, "f")
		if err := os.WriteFile(path, want, 0o600); err != nil {
			t.Fatal(err)
		}
		var buf [64]byte
		got, err := Read(path, buf[:], 1<<20)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("Read of %d bytes: %d bytes, %v", size, len(got), err)
		}
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range [][]byte{buf[:], make([]byte, 4096)} {
			got, err = Pread(fd, b, 1<<20)
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("Pread of %d bytes into %d: %d bytes, %v", size, len(b), len(got), err)
			}
		}
		unix.Close(fd)
		if size > 100 {
			if _, err := Read(path, buf[:], 100); err == nil || !strings.Contains(err.Error(), "limit of 100 bytes") {
				t.Errorf("Read of %d bytes with a limit of 100: %v, want an error naming the limit", size, err)
			}
		}
	}
	if _, err := Read(filepath.Join(dir, "gone"), nil, 10); !errors.Is(err, syscall.ENOENT) || !strings.Contains(err.Error(), "gone") {
		t.Errorf("Read of a missing file: %v, want ENOENT naming it", err)
	}
	// A /proc file: its size is 0 to stat, its content comes from reads.
	got, err := Read("/proc/self/stat", make([]byte, 16), 4096)
	if err != nil || !bytes.Contains(got, []byte(") ")) || got[len(got)-1] != '\n' {
		t.Errorf("Read /proc/self/stat: %q, %v", got, err)
	}
}
