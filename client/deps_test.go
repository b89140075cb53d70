package client

import (
	"os/exec"
	"strings"
	"testing"
)

// TestClientLinksNoParsers keeps the public client small: a Go program that drives gpm links the protocol, not the
// process-file parsers (config/procfile and its YAML library) nor the daemon (issue 13).
func TestClientLinksNoParsers(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, banned := range []string{"github.com/gpmd/gpm/config/procfile", "go.yaml.in/yaml", "github.com/gpmd/gpm/service"} {
			if dep == banned || strings.HasPrefix(dep, banned+"/") {
				t.Errorf("the client links %s", dep)
			}
		}
	}
}
