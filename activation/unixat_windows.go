package activation

import (
	"os"
	"path/filepath"
)

// unlinkIn removes name in dir by path: Windows has no unlinkat.
func unlinkIn(dir *os.File, name string) error { return os.Remove(filepath.Join(dir.Name(), name)) }
