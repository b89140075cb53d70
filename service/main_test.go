package service

import (
	"fmt"
	"os"
	"testing"

	"github.com/gpmd/gpm/activation"
)

// TestMain lets the test binary act as the trampoline that socket apps start through (the daemon's own binary, as
// gpm's main does).
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == activation.TrampolineArg {
		err := activation.RunTrampoline(os.Args[2:])
		fmt.Fprintln(os.Stderr, err)
		os.Exit(127)
	}
	os.Exit(m.Run())
}
