package platform

import (
	"fmt"
	"os"

	"golang.org/x/sys/windows"
)

// Lock takes an exclusive lock on path (created if missing), waiting for it when wait is set. The lock lives until
// the returned file is closed or the process dies (Windows releases the locks of a dead process), so a crashed
// holder never leaves it stuck. With wait unset and the lock held elsewhere, it returns (nil, nil).
//
// It is LockFileEx on the file's first byte. Unlike flock(2) the lock is mandatory and belongs to the handle:
// another handle, even in the same process, can neither lock nor read or write that byte while it is held, so
// nothing may store data in a lock file.
func Lock(path string, wait bool) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	flags := uint32(windows.LOCKFILE_EXCLUSIVE_LOCK)
	if !wait {
		flags |= windows.LOCKFILE_FAIL_IMMEDIATELY
	}
	// The handle is synchronous (no FILE_FLAG_OVERLAPPED), so a waiting LockFileEx blocks this thread until the
	// lock is granted; the Overlapped only carries the offset (0).
	err = windows.LockFileEx(windows.Handle(f.Fd()), flags, 0, 1, 0, &windows.Overlapped{})
	if err == windows.ERROR_LOCK_VIOLATION && !wait {
		f.Close()
		return nil, nil
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: LockFileEx: %w", path, err)
	}
	return f, nil
}
