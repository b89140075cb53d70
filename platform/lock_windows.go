package platform

import (
	"fmt"
	"os"
)

// Lock is not implemented on Windows yet.
func Lock(path string, wait bool) (*os.File, error) {
	return nil, fmt.Errorf("lock %s: %w", path, ErrUnsupported)
}
