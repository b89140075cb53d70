package procfile

import (
	"errors"
	"github.com/gpmd/gpm/config"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func requireNode(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node is not in PATH; JS process files need it")
	}
}

func TestLoadConfigJS(t *testing.T) {
	requireNode(t)
	dir, _ := filepath.Abs("testdata")
	f, err := Load("testdata/ecosystem.config.js", LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Apps) != 1 {
		t.Fatalf("apps: %+v", f.Apps)
	}
	a := f.Apps[0]
	if a.Name != "js-app" || a.Script != filepath.Join(dir, "server.js") || a.Instances != 2 || a.Env["FROM_JS"] != "42" ||
		a.Cwd != dir {
		t.Errorf("app = %+v", a)
	}

	f, err = Load("testdata/esm.config.mjs", LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if a := f.Apps[0]; a.Name != "esm-app" || a.Cwd != dir {
		t.Errorf("esm app = %+v", a)
	}
}

func TestParseConfigJSSource(t *testing.T) {
	requireNode(t)
	dir := t.TempDir()
	src := "module.exports = [{ name: 'p', script: require('path').basename(__filename) + '.sh' }]"
	f, err := Parse(filepath.Join(dir, "x.config.js"), []byte(src), dir, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if a := f.Apps[0]; a.Name != "p" || a.Script != "x.config.js.sh" {
		t.Errorf("app = %+v", a)
	}
	// Field errors carry no line: the lines of node's output are not the file's.
	_, err = Parse(filepath.Join(dir, "x.config.js"), []byte("module.exports = {script: 'a', instances: 'x'}"), dir, LoadOptions{})
	var fe *config.FieldError
	if !errors.As(err, &fe) || fe.Line != 0 || fe.Field != "instances" {
		t.Errorf("err = %v, want a FieldError without line", err)
	}
}

func TestConfigJSErrors(t *testing.T) {
	requireNode(t)
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.config.js")
	if err := os.WriteFile(bad, []byte("module.exports = {\n  apps: [oops]\n};\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(bad, LoadOptions{})
	if err == nil || !strings.Contains(err.Error(), "oops is not defined") || !strings.Contains(err.Error(), bad) {
		t.Errorf("err = %v, want node's ReferenceError naming the file", err)
	}
}

func TestConfigJSWithoutNode(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := Load("testdata/ecosystem.config.js", LoadOptions{})
	if !errors.Is(err, errNoNode) || !strings.Contains(err.Error(), "JSON") || !strings.Contains(err.Error(), "YAML") {
		t.Errorf("err = %v, want the Node.js-needed error", err)
	}
}
