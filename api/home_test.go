package api

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/gpmd/gpm/platform/safefs"
)

// TestCheckHomeModules: the modules directory is what a daemon runs as much as the dump is (module.start runs the
// manifest's command from GPM_HOME/modules/NAME): one that another user can change is refused like a dump they
// could, or they would swap a module's files and have the daemon run theirs.
func TestCheckHomeModules(t *testing.T) {
	home := filepath.Join(t.TempDir(), "home")
	if err := os.Mkdir(home, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := CheckHome(home); err != nil {
		t.Fatalf("a private home: %v", err)
	}
	mods := filepath.Join(home, ModulesDir)
	if err := os.Mkdir(mods, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := CheckHome(home); err != nil {
		t.Fatalf("a private modules directory: %v", err)
	}
	if err := os.Chmod(mods, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := CheckHome(home); !errors.Is(err, safefs.ErrUnsafe) {
		t.Errorf("a modules directory anyone may write to: %v, want safefs.ErrUnsafe", err)
	}
}
