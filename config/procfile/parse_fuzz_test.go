package procfile

import (
	"bytes"
	"encoding/json"
	"github.com/gpmd/gpm/config"
	"github.com/gpmd/gpm/internal/fuzzbudget"
	"testing"
)

// Fuzz targets for the process-file parsers. Seeds: testdata/fuzz/FuzzXxx (real ecosystem files, the e2e ones,
// hostile YAML). `make fuzz` runs each target; plain `go test` runs the seeds.

// fuzzBase is the directory relative paths of a fuzzed file resolve against; it need not exist.
const fuzzBase = "/srv/gpm-fuzz"

// FuzzParseJSON5 feeds process files to Parse as .json (JSON5) and as stdin (sniffed: JSON5, else YAML).
func FuzzParseJSON5(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, name := range []string{"ecosystem.json", "-"} {
			checkParse(t, name, data)
		}
	})
}

// FuzzParseYAML feeds process files to Parse as .yaml.
func FuzzParseYAML(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		checkParse(t, "ecosystem.yaml", data)
	})
}

// checkParse parses data as the file name and checks what Parse promises: an error or valid apps with unique names;
// and that the apps, rendered as a JSON process file, parse again to the same apps (so `gpm ecosystem`-style output,
// dump.json and the protocol's JSON carry exactly what the file said).
func checkParse(t *testing.T, name string, data []byte) {
	var (
		file *File
		err  error
	)
	fuzzbudget.Bounded(t, "Parse "+name, len(data), func() {
		file, err = Parse(name, data, fuzzBase, LoadOptions{NumCPU: 2})
	})
	if err != nil {
		if err.Error() == "" {
			t.Fatalf("Parse %s: an error without a message", name)
		}
		return
	}
	names := map[string]bool{}
	for _, a := range file.Apps {
		if verr := a.Validate(); verr != nil {
			t.Fatalf("Parse %s: accepted an invalid app %q: %v", name, a.Name, verr)
		}
		if names[a.Name] {
			t.Fatalf("Parse %s: accepted the name %q twice", name, a.Name)
		}
		names[a.Name] = true
		if a.Instances > config.MaxInstances {
			t.Fatalf("Parse %s: app %q has %d instances, over MaxInstances (%d)", name, a.Name, a.Instances, config.MaxInstances)
		}
	}
	if len(file.Apps) == 0 {
		return
	}
	rendered := renderProcessFile(t, file.Apps)
	again, err := Parse("again.json", rendered, fuzzBase, LoadOptions{NumCPU: 2})
	if err != nil {
		t.Fatalf("Parse %s: its apps rendered as a process file do not parse: %v\n%s", name, err, rendered)
	}
	if got, want := appsJSON(t, again.Apps), appsJSON(t, file.Apps); !bytes.Equal(got, want) {
		t.Fatalf("Parse %s: apps differ after a render and a parse:\nfirst: %s\nagain: %s", name, want, got)
	}
}

// renderProcessFile writes apps as a JSON process file. App's JSON names are the process-file fields; the one
// value that reads differently in a file is the interpreter: "" (run the script directly) is "none" there.
func renderProcessFile(t *testing.T, apps []config.App) []byte {
	t.Helper()
	out := make([]config.App, len(apps))
	for i, a := range apps {
		out[i] = a.Clone()
		if out[i].Interpreter == "" {
			out[i].Interpreter = "none"
		}
	}
	b, err := json.Marshal(map[string][]config.App{"apps": out})
	if err != nil {
		t.Fatalf("render apps: %v", err)
	}
	return b
}

// appsJSON is apps as the protocol and dump.json carry them; it is what must survive a round trip.
func appsJSON(t *testing.T, apps []config.App) []byte {
	t.Helper()
	b, err := json.Marshal(apps)
	if err != nil {
		t.Fatalf("marshal apps: %v", err)
	}
	return b
}
