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
