package activation

import (
	"os"
	"os/exec"
	"testing"
)

// TestEveryOSBuildsTheDaemon: the package's API is the same on every OS (portable declarations in untagged files),
// so gpm's daemon builds for each. MaxNotifyMessage, declared in notify_unix.go only, made `GOOS=windows go build
// ./cmd/gpm` fail in package service ("undefined: activation.MaxNotifyMessage").
func TestEveryOSBuildsTheDaemon(t *testing.T) {
	if testing.Short() {
		t.Skip("builds gpm for other systems")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command in PATH")
	}
	// The builds of `make cross` that link this package: gpmd-web, gpmd (-tags gpmnoweb) and, on unix, the thin
	// CLI (which hands daemon commands to gpmd).
	for _, b := range []struct{ goos, goarch, tags string }{
		{"windows", "amd64", ""}, {"windows", "amd64", "gpmnoweb"},
		{"darwin", "arm64", ""}, {"darwin", "arm64", "gpmnoweb"}, {"darwin", "arm64", "gpmthin"},
	} {
		cmd := exec.Command(goBin, "build", "-tags="+b.tags, "-o", os.DevNull, "github.com/gpmd/gpm/cmd/gpm")
		cmd.Env = append(os.Environ(), "GOOS="+b.goos, "GOARCH="+b.goarch, "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("GOOS=%s GOARCH=%s go build -tags=%q ./cmd/gpm: %v\n%s", b.goos, b.goarch, b.tags, err, out)
		}
	}
}
