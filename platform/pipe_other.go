//go:build !linux

package platform

import (
	"fmt"
	"os"
)

// OutputPipe returns a pipe for a child's stdout or stderr: r for the daemon, w for the child.
func OutputPipe() (r, w *os.File, err error) {
	if r, w, err = os.Pipe(); err != nil {
		return nil, nil, fmt.Errorf("pipe: %w", err)
	}
	return r, w, nil
}

// GrowPipe does nothing where F_SETPIPE_SZ does not exist; it returns 0 (size unknown) and no error.
func GrowPipe(f *os.File, size int) (int, error) { return 0, nil }
