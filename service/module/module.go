// Package module is gpm's module system (PM2's `pm2 install`): the manifest a module ships (gpm-module.json),
// its installation under GPM_HOME/modules/<name> from a directory, a .tar.gz, an executable or an npm package, and
// the app a module runs as (namespace "modules", its settings in GPM_MODULE_CONFIG). The CLI installs (as the user
// who runs it); the daemon reads manifests to start modules and restart them when their settings change.
package module

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/gpmd/gpm/api"
	"github.com/gpmd/gpm/config"
)

// Namespace is the namespace modules run in; `gpm ls` hides it unless --all.
const Namespace = api.ModuleNamespace

// ManifestName is the manifest's file name, at the top of a module's directory or archive.
const ManifestName = "gpm-module.json"

// Dir is GPM_HOME's directory of installed modules.
const Dir = api.ModulesDir

// Environment a module gets beside every app's.
const (
	EnvSocket = "GPM_SOCKET"        // the daemon's control socket
	EnvName   = "GPM_MODULE_NAME"   // the module's name
	EnvConfig = "GPM_MODULE_CONFIG" // JSON object: the manifest's settings overlaid by `gpm set NAME:KEY VALUE`
)

// Limits of a manifest.
const (
	MaxManifest = 64 << 10 // bytes of gpm-module.json
	MaxCommand  = 256      // words of its command
	MaxSettings = 256      // default settings
	// MaxConfig bounds GPM_MODULE_CONFIG: Linux passes one environment string of at most MAX_ARG_STRLEN (32 pages,
	// 128 KiB) with its name, '=' and NUL, and a longer one fails the module's exec with E2BIG (`gpm set` of a few
	// large values took the running module down).
	MaxConfig = 128<<10 - len(EnvConfig) - 2
)

// ErrNotInstalled is returned for a module with no directory under GPM_HOME/modules.
var ErrNotInstalled = errors.New("not installed")

// Manifest is gpm-module.json.
type Manifest struct {
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
	// Command is the argv the module runs: argv[0] relative to the module's directory when it names a file there
	// (or contains a slash), else a command looked up in PATH (node, python3).
	Command []string `json:"command"`
	// Settings are the defaults of GPM_MODULE_CONFIG; `gpm set NAME:KEY VALUE` overrides one (as a string).
	Settings map[string]any `json:"settings,omitempty"`
}

// Check validates m: its name is a valid app name and a settings section (no ':'), it has a command.
func (m *Manifest) Check() error {
	if err := config.CheckName(m.Name); err != nil {
		return fmt.Errorf("%s: name %w", ManifestName, err)
	}
	if strings.ContainsAny(m.Name, ": \t") || strings.HasPrefix(m.Name, ".") {
		return fmt.Errorf("%s: name %q: must not start with '.' nor contain ':' or spaces (it is the section of `gpm set NAME:KEY`)", ManifestName, m.Name)
	}
	switch {
	case len(m.Command) == 0 || m.Command[0] == "":
		return fmt.Errorf("%s: command is required: the argv the module runs, as [\"./bin\", \"arg\"]", ManifestName)
	case len(m.Command) > MaxCommand:
		return fmt.Errorf("%s: command has %d words; at most %d (module.MaxCommand)", ManifestName, len(m.Command), MaxCommand)
	case len(m.Settings) > MaxSettings:
		return fmt.Errorf("%s: %d settings; at most %d (module.MaxSettings)", ManifestName, len(m.Settings), MaxSettings)
	}
	return nil
}

// ReadManifest reads and checks dir's gpm-module.json, at most MaxManifest bytes.
func ReadManifest(dir string) (Manifest, error) {
	var m Manifest
	f, err := os.Open(filepath.Join(dir, ManifestName))
	if err != nil {
		return m, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxManifest+1))
	if err != nil {
		return m, fmt.Errorf("%s: %w", f.Name(), err)
	}
	if len(b) > MaxManifest {
		return m, fmt.Errorf("%s: over %d bytes (module.MaxManifest)", f.Name(), MaxManifest)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("%s: %w", f.Name(), err)
	}
	if err := m.Check(); err != nil {
		return m, fmt.Errorf("%s: %w", dir, err)
	}
	return m, nil
}

// Path is the directory of module name under home.
func Path(home, name string) string { return filepath.Join(home, Dir, name) }

// Read returns the manifest of the installed module name; ErrNotInstalled when it has no directory.
func Read(home, name string) (Manifest, error) {
	if err := config.CheckName(name); err != nil || strings.HasPrefix(name, ".") {
		return Manifest{}, fmt.Errorf("module %q: %w", name, ErrNotInstalled)
	}
	m, err := ReadManifest(Path(home, name))
	if errors.Is(err, os.ErrNotExist) {
		return m, fmt.Errorf("module %s: %w", name, ErrNotInstalled)
	}
	if err == nil && m.Name != name {
		return m, fmt.Errorf("module %s: its manifest names it %q", name, m.Name)
	}
	return m, err
}

// Installed lists the names of the modules under home, sorted.
func Installed(home string) ([]string, error) {
	ents, err := os.ReadDir(filepath.Join(home, Dir))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("modules: %w", err)
	}
	var out []string
	for _, e := range ents {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out, nil
}

// Config is GPM_MODULE_CONFIG: m's default settings, overlaid by the values set for the module (keys of the
// section NAME:KEY, without the section). A set value is a string, as PM2's module_conf keeps them, unless its
// default is a boolean or a number and the value parses as one: then it keeps the default's type. Over MaxConfig
// bytes it is an error naming the limit.
func Config(m Manifest, set map[string]string) (string, error) {
	out := make(map[string]any, len(m.Settings)+len(set))
	for k, v := range m.Settings {
		out[k] = v
	}
	for k, v := range set {
		out[k] = v
		switch m.Settings[k].(type) {
		case bool:
			if b, err := strconv.ParseBool(v); err == nil {
				out[k] = b
			}
		case float64:
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				out[k] = f
			}
		}
	}
	b, err := json.Marshal(out)
	if err != nil {
		return "", fmt.Errorf("module %s: settings: %w", m.Name, err)
	}
	if len(b) > MaxConfig {
		return "", fmt.Errorf("module %s: settings: %s of %d bytes is over the limit of %d (module.MaxConfig): unset some (gpm unset %s:KEY)",
			m.Name, EnvConfig, len(b), MaxConfig, m.Name)
	}
	return string(b), nil
}

// App is the app module m runs as, installed under home: in namespace modules, in its directory, with the
// module's environment (socket is the control socket's path).
func App(home, socket string, m Manifest, set map[string]string) (config.App, error) {
	cfg, err := Config(m, set)
	if err != nil {
		return config.App{}, err
	}
	dir := Path(home, m.Name)
	a := config.New()
	a.Name, a.Namespace, a.Cwd = m.Name, Namespace, dir
	// Normalize resolves argv[0] as a process file's script: a file of the module's directory, else a command
	// found in PATH; "none" runs it as it is, whatever its extension.
	a.Script, a.Args, a.Interpreter = m.Command[0], append([]string(nil), m.Command[1:]...), "none"
	a.Env = map[string]string{EnvSocket: socket, EnvName: m.Name, EnvConfig: cfg}
	if err := a.Normalize(dir); err != nil {
		return a, fmt.Errorf("module %s: %w", m.Name, err)
	}
	return a, nil
}
