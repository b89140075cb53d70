package procfile

import (
	"bytes"
	"errors"
	"fmt"
	"github.com/gpmd/gpm/config"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
)

// LoadOptions control how a process file becomes Apps.
type LoadOptions struct {
	Env    string    // --env NAME: merge env_NAME over env
	Only   []string  // --only a,b: keep only these app names (error if a name matches nothing); "a,b" elements are split
	NumCPU int       // CPU count for instances "max", 0 and -N; 0 means runtime.NumCPU()
	Stdin  io.Reader // read when path is "-" (JSON/JSON5 or YAML, sniffed); nil means os.Stdin
}

// File is a parsed process file.
type File struct {
	Path     string       // as given to Load or Parse; "-" for stdin
	Apps     []config.App // normalized and validated, in file order
	Warnings []string     // ignored fields and root keys, each naming the file, the app and the line

	decoders []*appDecoder // of Apps, same order: where each app and its fields are, for CheckRunnable
}

// CheckRunnable runs App.CheckRunnable on every app, with pathEnv as PATH, and returns the first problem located
// as Load's errors are: the file, the line of the field (or of the app when the field is not in the file), the app.
func (f *File) CheckRunnable(pathEnv string) error {
	for i := range f.Apps {
		if err := f.Apps[i].CheckRunnable(pathEnv); err != nil {
			if i < len(f.decoders) {
				return f.decoders[i].locate(err)
			}
			return fmt.Errorf("%s: %w", f.Path, err)
		}
	}
	return nil
}

// DropUnrunnable takes out of f the apps App.CheckRunnable refuses (with pathEnv as PATH), so that the others can
// start, as PM2 starts the valid apps of a file and exits 1. It returns nil when every app is runnable, else one
// error naming each app left out, located as CheckRunnable's are.
func (f *File) DropUnrunnable(pathEnv string) error {
	var errs []error
	var apps []config.App
	var decs []*appDecoder
	for i := range f.Apps {
		if err := f.Apps[i].CheckRunnable(pathEnv); err != nil {
			if i < len(f.decoders) {
				err = f.decoders[i].locate(err)
			} else {
				err = fmt.Errorf("%s: %w", f.Path, err)
			}
			errs = append(errs, fmt.Errorf("app %q not started: %w", f.Apps[i].Name, err))
			continue
		}
		apps = append(apps, f.Apps[i])
		if i < len(f.decoders) {
			decs = append(decs, f.decoders[i])
		}
	}
	f.Apps, f.decoders = apps, decs
	return errors.Join(errs...)
}

// stdinName names standard input in messages.
const stdinName = "<stdin>"

type format int

const (
	formatUnknown format = iota
	formatJSON5
	formatYAML
	formatJS
)

// formatOf detects the format from the file name, as PM2 does. Any ".js" counts, so that Load works on a file the
// CLI already decided is a process file; config.IsProcessFile is stricter.
func formatOf(name string) format {
	n := strings.ToLower(name)
	switch {
	case strings.HasSuffix(n, ".json"), strings.HasSuffix(n, ".json5"):
		return formatJSON5
	case strings.HasSuffix(n, ".yml"), strings.HasSuffix(n, ".yaml"):
		return formatYAML
	case strings.HasSuffix(n, ".js"), strings.HasSuffix(n, ".cjs"), strings.HasSuffix(n, ".mjs"):
		return formatJS
	}
	return formatUnknown
}

// Load reads the process file at path and returns its apps, normalized with App.Normalize against the file's
// directory (for "-", the process's working directory; stdin is read from opts.Stdin).
//
// Formats by extension: .json and .json5 (JSON5: comments, single quotes, bare keys, trailing commas), .yml and
// .yaml, and .config.js/.cjs/.mjs/.js, which are evaluated by an external `node`. An error means no apps: a
// malformed or invalid file, an unknown extension, an app without script, a duplicate name, or an opts.Only name
// that matches nothing. Field errors are *FieldError with the file, line, app and field. Ignored fields are reported
// in File.Warnings, never as errors.
func Load(path string, opts LoadOptions) (*File, error) {
	if path == "-" {
		in := opts.Stdin
		if in == nil {
			in = os.Stdin
		}
		data, err := io.ReadAll(in)
		if err != nil {
			return nil, fmt.Errorf("read process file from stdin: %w", err)
		}
		cwd, err := os.Getwd()
		if err != nil {
			return nil, fmt.Errorf("read process file from stdin: %w", err)
		}
		return Parse(path, data, cwd, opts)
	}
	f := formatOf(path)
	if f == formatUnknown {
		return nil, fmt.Errorf("%s: not a process file: expected .json, .json5, .yml, .yaml or .config.js", path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	if f == formatJS {
		if _, err := os.Stat(abs); err != nil { // node's "Cannot find module" would say less
			return nil, fmt.Errorf("load process file: %w", err)
		}
		out, err := evalJSFile(abs)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return parseNodeOutput(path, out, filepath.Dir(abs), opts)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load process file: %w", err)
	}
	return Parse(path, data, filepath.Dir(abs), opts)
}

// Parse is Load on data already read: name picks the format (as in Load; "-", "" or an unknown extension means
// sniff: JSON5 when it parses, else YAML) and names the file in errors; base is the directory relative paths
// resolve against. JavaScript (a .js name) is evaluated by node as a CommonJS module, or as an ES module for .mjs;
// such an ES module cannot import files relative to itself, which Load can.
func Parse(name string, data []byte, base string, opts LoadOptions) (*File, error) {
	display := name
	if name == "-" || name == "" {
		display = stdinName
	}
	var (
		root *yaml.Node
		err  error
	)
	switch formatOf(name) {
	case formatJS:
		out, err := evalJSSource(name, base, data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", display, err)
		}
		return parseNodeOutput(display, out, base, opts)
	case formatJSON5:
		root, err = parseJSON5(data)
	case formatYAML:
		root, err = parseYAML(data)
	default: // sniff: JSON5 if it parses, else YAML; a failure is reported in the language the text looks like
		if root, err = parseJSON5(data); err != nil {
			switch r, yerr := parseYAML(data); {
			case yerr == nil:
				root, err = r, nil
			case !startsLikeJSON(data):
				err = yerr
			}
		}
	}
	var se *syntaxError
	if errors.As(err, &se) {
		se.File = display
		return nil, se
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", display, err)
	}
	return decodeFile(name, display, root, true, base, opts)
}

// startsLikeJSON reports whether data opens with '{', '[' or a // or /* comment, i.e. was meant as JSON.
func startsLikeJSON(data []byte) bool {
	t := bytes.TrimLeft(bytes.TrimPrefix(data, []byte("\uFEFF")), " \t\r\n")
	return len(t) > 0 && (t[0] == '{' || t[0] == '[' || bytes.HasPrefix(t, []byte("//")) || bytes.HasPrefix(t, []byte("/*")))
}

// parseNodeOutput decodes the JSON that node printed for a JS process file. Its lines are not the file's lines, so
// messages carry none.
func parseNodeOutput(name string, jsonText []byte, base string, opts LoadOptions) (*File, error) {
	root, err := parseJSON5(jsonText)
	if err != nil {
		return nil, fmt.Errorf("%s: reading the JSON printed by node: %w", name, err)
	}
	return decodeFile(name, name, root, false, base, opts)
}

// yamlErrLine is compiled on first use: a package-level regexp is compiled by the package's initialisation, which runs
// on every CLI call, most of which parse no file (issue 13: CLI start-up).
var yamlErrLine = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^yaml: line (\d+): (.*)$`) })

// parseYAML parses a YAML document; (nil, nil) when there is none. A second document (after ---) is a syntax
// error.
func parseYAML(data []byte) (*yaml.Node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		if m := yamlErrLine().FindStringSubmatch(err.Error()); m != nil {
			line, _ := strconv.Atoi(m[1])
			return nil, &syntaxError{Line: yamlProblemLine(data, m[2], line), Msg: m[2]}
		}
		return nil, fmt.Errorf("invalid YAML: %w", err)
	}
	// yaml.Unmarshal reads the first document and ignores the rest, so a file of several (apps split by ---)
	// started the first document's apps alone. PM2 loads the file with js-yaml's load, which refuses it: so does
	// this. An empty document after the first ("---" at the end) holds nothing to lose.
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var first, next yaml.Node
	if dec.Decode(&first) == nil {
		switch err := dec.Decode(&next); {
		case errors.Is(err, io.EOF):
		case err != nil:
			if m := yamlErrLine().FindStringSubmatch(err.Error()); m != nil {
				line, _ := strconv.Atoi(m[1])
				return nil, &syntaxError{Line: line, Msg: m[2]}
			}
			return nil, fmt.Errorf("invalid YAML: %w", err)
		case len(next.Content) > 0 && !isNull(next.Content[0]):
			return nil, &syntaxError{Line: next.Line, Msg: "a second YAML document: a process file is one document " +
				"(put every app in one apps: list)"}
		}
	}
	if doc.Kind == yaml.DocumentNode && len(doc.Content) > 0 {
		if err := checkExpansion(doc.Content[0]); err != nil {
			return nil, fmt.Errorf("YAML aliases: %w", err)
		}
		return doc.Content[0], nil
	}
	return nil, nil
}

// yamlProblemLine finds the line of a YAML syntax error. yaml.v3 reports the line where the enclosing construct
// began (its "context mark"), often the first line of the file, not the line with the problem, and it does not
// expose the problem mark. A document cut after any line parses the same up to that line, so the shortest prefix
// that fails with the same message ends on the bad line; a binary search finds it in O(log lines) parses. A prefix
// cut inside a multi-line flow collection or quoted string fails with a different message and counts as good.
// fallback is returned when the whole document does not fail with msg.
func yamlProblemLine(data []byte, msg string, fallback int) int {
	lines := bytes.SplitAfter(data, []byte("\n"))
	fails := func(k int) bool {
		var doc yaml.Node
		err := yaml.Unmarshal(bytes.Join(lines[:k], nil), &doc)
		m := yamlErrLine().FindStringSubmatch(fmt.Sprint(err))
		return err != nil && m != nil && m[2] == msg
	}
	if !fails(len(lines)) {
		return fallback
	}
	lo, hi := 1, len(lines)
	for lo < hi {
		if mid := (lo + hi) / 2; fails(mid) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return hi
}

// decodeFile finds the apps in the root and decodes them; then applies the checks across apps and opts.Only.
func decodeFile(name, display string, root *yaml.Node, lines bool, base string, opts LoadOptions) (*File, error) {
	d := &fileDecoder{file: display, lines: lines, base: base, opts: opts, numCPU: opts.NumCPU}
	if d.numCPU <= 0 {
		d.numCPU = runtime.NumCPU()
	}
	appNodes, single, err := d.findApps(root)
	if err != nil {
		return nil, err
	}
	apps := make([]decodedApp, 0, len(appNodes))
	byName := map[string]decodedApp{}
	for i, n := range appNodes {
		index := i
		if single {
			index = -1
		}
		a, err := d.decodeApp(n, index)
		if err != nil {
			return nil, err
		}
		if prev, dup := byName[a.app.Name]; dup {
			where := ""
			if l := max(prev.nameLine, prev.line); l > 0 {
				where = fmt.Sprintf(" (line %d)", l)
			}
			return nil, &config.FieldError{File: display, Line: max(a.nameLine, a.line), App: a.label, Field: "name",
				Msg: fmt.Sprintf("%q is already used by %s%s; app names must be unique", a.app.Name, prev.label, where)}
		}
		byName[a.app.Name] = a
		apps = append(apps, a)
	}
	f := &File{Path: name}
	slices.SortStableFunc(d.warnings, func(a, b warning) int { return a.line - b.line })
	for _, w := range d.warnings {
		f.Warnings = append(f.Warnings, w.msg)
	}
	if name == "" {
		f.Path = "-"
	}
	only := onlyNames(opts.Only)
	for _, a := range apps {
		if len(only) == 0 || only[a.app.Name] {
			f.Apps = append(f.Apps, a.app)
			f.decoders = append(f.decoders, a.decoder)
		}
	}
	for o := range only {
		if _, ok := byName[o]; !ok {
			names := make([]string, len(apps))
			for i, a := range apps {
				names[i] = a.app.Name
			}
			return nil, fmt.Errorf("%s: --only %s: no such app (the file defines %s)", display, o, strings.Join(names, ", "))
		}
	}
	return f, nil
}

func onlyNames(only []string) map[string]bool {
	set := map[string]bool{}
	for _, o := range only {
		for n := range strings.SplitSeq(o, ",") {
			if n = strings.TrimSpace(n); n != "" {
				set[n] = true
			}
		}
	}
	return set
}

// readDeployEnv keeps deploy.<opts.Env>.env, when --env is given and the file has one.
func (d *fileDecoder) readDeployEnv(deploy *yaml.Node) error {
	if d.opts.Env == "" {
		return nil
	}
	deploy = deref(deploy)
	if deploy == nil || deploy.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(deploy.Content); i += 2 {
		if deploy.Content[i].Value != d.opts.Env {
			continue
		}
		target := deref(deploy.Content[i+1])
		if target == nil || target.Kind != yaml.MappingNode {
			return nil
		}
		for j := 0; j+1 < len(target.Content); j += 2 {
			if target.Content[j].Value == "env" && !isNull(target.Content[j+1]) {
				env, err := envValues(target.Content[j+1])
				if err != nil {
					return d.errorf(target.Content[j], "deploy.%s.env %w", d.opts.Env, err)
				}
				d.deployEnv = env
			}
		}
	}
	return nil
}

// findApps returns the app objects of a root of the form {apps|pm2: [...] | {...}}, [...], or a single app object.
// single is true when the apps are not in a list, so messages name them without an index.
func (d *fileDecoder) findApps(root *yaml.Node) (apps []*yaml.Node, single bool, err error) {
	root = deref(root)
	if isNull(root) {
		return nil, false, fmt.Errorf("%s: the file defines no apps", d.file)
	}
	switch root.Kind {
	case yaml.SequenceNode:
		apps = root.Content
	case yaml.MappingNode:
		pairs, err := mappingPairs(root, 0)
		if err != nil {
			return nil, false, d.errorf(root, "the top level %w", err)
		}
		var list *yaml.Node
		for _, p := range pairs {
			if k := p.key.Value; k == "apps" || k == "pm2" {
				if list != nil {
					d.warnf(p.key, "%s repeats the app list; the later one is used", k)
				}
				list = p.value
			}
		}
		if list == nil {
			return []*yaml.Node{root}, true, nil
		}
		for _, p := range pairs {
			switch k := p.key.Value; k {
			case "apps", "pm2":
			case "deploy": // belongs to `deploy`, but for deploy.<--env>.env, which the apps get (PM2)
				if err := d.readDeployEnv(p.value); err != nil {
					return nil, false, err
				}
			case "static":
				if v := deref(p.value); v.Kind != yaml.SequenceNode || len(v.Content) > 0 {
					d.warnf(p.key, "static (pm2 serve) apps are not supported by gpm yet, ignored")
				}
			default:
				d.warnf(p.key, "unknown top-level field %s", k)
			}
		}
		if l := deref(list); l.Kind == yaml.MappingNode {
			return []*yaml.Node{l}, true, nil
		} else if l.Kind != yaml.SequenceNode {
			return nil, false, d.errorf(l, "apps must be a list of app objects, got %s", describe(l))
		}
		apps = deref(list).Content
	default:
		return nil, false, d.errorf(root, "expected {apps: [...]}, a list of apps or one app object, got %s", describe(root))
	}
	if len(apps) == 0 {
		return nil, false, d.errorf(root, "the file defines no apps")
	}
	return apps, false, nil
}
