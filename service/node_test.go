package service

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestNodeQuote runs node with NODE_OPTIONS as nodeEnv builds it, for shim paths that need quoting.
func TestNodeQuote(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed")
	}
	for _, dir := range []string{"plain", "with space", `quo"te`, `back\slash`, `both \" and  spaces`} {
		t.Run(dir, func(t *testing.T) {
			d := filepath.Join(t.TempDir(), dir)
			if err := os.MkdirAll(d, 0o755); err != nil {
				t.Fatal(err)
			}
			shim := filepath.Join(d, NodeShimName)
			if err := os.WriteFile(shim, []byte(`process.stdout.write("shim ")`), 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(node, "-e", `process.stdout.write("main")`)
			cmd.Env = append(os.Environ(), "NODE_OPTIONS=--no-warnings --require "+nodeQuote(shim))
			out, err := cmd.CombinedOutput()
			if err != nil || string(out) != "shim main" {
				t.Errorf("NODE_OPTIONS=--require %s: %v, %q; want %q", nodeQuote(shim), err, out, "shim main")
			}
		})
	}
}
