package rawfile

import (
	"fmt"
	"io/fs"
	"slices"

	"golang.org/x/sys/unix"
)

// Read reads the whole file at path into buf while it fits (from buf[0]; pass a stack array's slice for no
// allocation), else into a larger slice, of at most limit bytes: a larger file is an error that names the limit.
func Read(path string, buf []byte, limit int) ([]byte, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	b, err := readAll(fd, buf[:0], limit, false)
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: path, Err: err}
	}
	return b, nil
}

// Pread reads the whole file open at fd from its start with pread(2), as Read does: a file the daemon keeps open
// and reads again (a cgroup's cpu.stat) costs one syscall a read. A first read that leaves room in a small buf
// (up to 2 KiB) is the whole file: a seq_file read (cgroup.procs) fills the buffer it is given up to the file's
// end, or to its own page-sized buffer, which small records (a pid a line) fill past 2 KiB first; the read that
// would return 0 is saved.
func Pread(fd int, buf []byte, limit int) ([]byte, error) {
	n, err := unix.Pread(fd, buf, 0)
	if err != nil {
		return nil, err
	}
	if n < len(buf) && len(buf) <= 2048 {
		return buf[:n], nil
	}
	return readAll(fd, buf[:n], limit, true)
}

// readAll reads fd's rest after b (at offset len(b) with pread) until end of file, or fails past limit bytes.
func readAll(fd int, b []byte, limit int, positioned bool) ([]byte, error) {
	if len(b) > limit {
		return nil, fmt.Errorf("larger than its limit of %d bytes", limit)
	}
	for {
		if len(b) == cap(b) {
			b = slices.Grow(b, max(len(b), 512))
		}
		var n int
		var err error
		if positioned {
			n, err = unix.Pread(fd, b[len(b):cap(b)], int64(len(b)))
		} else {
			n, err = unix.Read(fd, b[len(b):cap(b)])
		}
		if err != nil {
			return nil, err
		}
		if n == 0 {
			return b, nil
		}
		if b = b[:len(b)+n]; len(b) > limit {
			return nil, fmt.Errorf("larger than its limit of %d bytes", limit)
		}
	}
}
