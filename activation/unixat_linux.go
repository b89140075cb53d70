package activation

import (
	"fmt"
	"os"
)

// pathIn is where to bind name in dir: /proc/self/fd/N/NAME, which the kernel resolves through the open directory
// itself, not through the path it was opened by.
func pathIn(dir *os.File, name, _ string) string {
	return fmt.Sprintf("/proc/self/fd/%d/%s", dir.Fd(), name)
}
