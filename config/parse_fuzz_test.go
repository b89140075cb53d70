package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"runtime/metrics"
	"testing"
	"time"
)

// Fuzz targets for the process-file parsers. Seeds: testdata/fuzz/FuzzXxx (real ecosystem files, the e2e ones,
// hostile YAML). `make fuzz` runs each target; plain `go test` runs the seeds.

// fuzzBase is the directory relative paths of a fuzzed file resolve against; it need not exist.
const fuzzBase = "/srv/gpm-fuzz"

// Budgets of one call on a fuzzed input: far above what a process file needs (microseconds, kilobytes), far below
// what a quadratic or exponential path (aliases, error lines, env JSON) takes on an input of the fuzzer's sizes.
const (
	fuzzMaxDuration   = 10 * time.Second
	fuzzAllocPerByte  = 4096    // bytes allocated per input byte ...
	fuzzAllocConstant = 8 << 20 // ... plus this
)

// heapAllocs reads the bytes allocated on the heap since the program started, without stopping the world.
func heapAllocs() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// bounded runs f on an input of n bytes and fails when it takes longer or allocates more than the budgets allow:
// a hostile process file, dump or request must not stall or balloon the daemon or the CLI. A call that never
// returns panics the process from a timer: the fuzzer saves the input of a crashed worker, not that of a hung one.
func bounded(t *testing.T, what string, n int, f func()) {
	t.Helper()
	hung := time.AfterFunc(fuzzMaxDuration, func() {
		panic(fmt.Sprintf("%s: still running after %v on %d bytes of input", what, fuzzMaxDuration, n))
	})
	start, before := time.Now(), heapAllocs()
	f()
	hung.Stop()
	if d := time.Since(start); d > fuzzMaxDuration {
		t.Fatalf("%s: %v for %d bytes of input (budget %v)", what, d, n, fuzzMaxDuration)
	}
	if a, limit := heapAllocs()-before, uint64(fuzzAllocConstant+fuzzAllocPerByte*n); a > limit {
		t.Fatalf("%s: allocated %d bytes for %d bytes of input (budget %d)", what, a, n, limit)
	}
}

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
	bounded(t, "Parse "+name, len(data), func() {
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
		if a.Instances > MaxInstances {
			t.Fatalf("Parse %s: app %q has %d instances, over MaxInstances (%d)", name, a.Name, a.Instances, MaxInstances)
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
func renderProcessFile(t *testing.T, apps []App) []byte {
	t.Helper()
	out := make([]App, len(apps))
	for i, a := range apps {
		out[i] = a.Clone()
		if out[i].Interpreter == "" {
			out[i].Interpreter = "none"
		}
	}
	b, err := json.Marshal(map[string][]App{"apps": out})
	if err != nil {
		t.Fatalf("render apps: %v", err)
	}
	return b
}

// appsJSON is apps as the protocol and dump.json carry them; it is what must survive a round trip.
func appsJSON(t *testing.T, apps []App) []byte {
	t.Helper()
	b, err := json.Marshal(apps)
	if err != nil {
		t.Fatalf("marshal apps: %v", err)
	}
	return b
}
