package activation

import (
	"fmt"
	"os"
	"strings"
)

// inheritHelperEnv makes the test binary a worker that opens a file of its own, then prints what Inherited took.
const inheritHelperEnv = "GPM_TEST_INHERIT"

// inheritHelper prints the names of the files Inherited returns, space-separated, or "error: ..." from
// InheritedFiles. A file it opened itself beforehand holds the descriptor after the passed ones: a LISTEN_FDS
// that counts too many would take it.
func inheritHelper() int {
	own, err := os.Open(os.DevNull)
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	defer own.Close()
	files, err := InheritedFiles()
	if err != nil {
		fmt.Println("error:", err)
		return 0
	}
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = f.Name()
	}
	fmt.Println("files:" + strings.Join(names, " "))
	return 0
}
