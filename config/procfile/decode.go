package procfile

import (
	"errors"
	"fmt"
	"github.com/gpmd/gpm/config"
	"path/filepath"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// fileDecoder turns the yaml.Node tree of one process file into Apps. JSON5, YAML and node's output all arrive here
// as yaml.Node, so there is one set of field rules and one error format.
type fileDecoder struct {
	file     string // for messages
	lines    bool   // node lines are lines of file (false for the JSON that node printed for a JS file)
	base     string // Normalize base
	opts     LoadOptions
	numCPU   int
	warnings []warning
	// deployEnv is deploy.<--env>.env of the file: under every app's env (PM2's lowest priority).
	deployEnv map[string]string
}

// warning is one message of File.Warnings; line orders them as in the file.
type warning struct {
	line int
	msg  string
}

// appDecoder holds the state of one app while its fields are applied.
type appDecoder struct {
	*fileDecoder
	app        config.App
	label      string            // "apps[1] (api)", for messages
	node       *yaml.Node        // the app's mapping
	fieldLines map[string]int    // canonical field → line of its key, to place Validate's errors
	logDefault bool              // log_file: true
	index      int               // position in apps, -1 for a single app at the root
	envOver    map[string]string // env_<opts.Env>
	named      bool              // label holds the name
}

// decodedApp is an App with where it came from, for the file-level checks (duplicates).
type decodedApp struct {
	app      config.App
	label    string
	line     int
	nameLine int
	decoder  *appDecoder
}

func (d *fileDecoder) line(n *yaml.Node) int {
	if !d.lines || n == nil {
		return 0
	}
	return n.Line
}

// errorf makes an error located at n that is not about one field.
func (d *fileDecoder) errorf(n *yaml.Node, format string, args ...any) error {
	if l := d.line(n); l > 0 {
		return fmt.Errorf("%s:%d: "+format, append([]any{d.file, l}, args...)...)
	}
	return fmt.Errorf("%s: "+format, append([]any{d.file}, args...)...)
}

// warnf records a warning about n, ending in " (line N)" when lines are known.
func (d *fileDecoder) warnf(n *yaml.Node, format string, args ...any) {
	d.warnings = append(d.warnings, warning{d.line(n), d.file + ": " + fmt.Sprintf(format, args...) + d.at(n)})
}

// at is " (line N)", or "" when the line is unknown.
func (d *fileDecoder) at(n *yaml.Node) string {
	if l := d.line(n); l > 0 {
		return fmt.Sprintf(" (line %d)", l)
	}
	return ""
}

// fieldError wraps the message of a setter as a FieldError at key's line.
func (c *appDecoder) fieldError(key *yaml.Node, field string, err error) *config.FieldError {
	return &config.FieldError{File: c.file, Line: c.line(key), App: c.label, Field: field, Msg: err.Error()}
}

// decodeApp decodes one app object: New() defaults, then its fields in file order, then env_<opts.Env> over env,
// then Normalize. index < 0 means the app is the whole file (a single app object at the root).
func (d *fileDecoder) decodeApp(n *yaml.Node, index int) (decodedApp, error) {
	label := "app"
	if index >= 0 {
		label = fmt.Sprintf("apps[%d]", index)
	}
	n = deref(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return decodedApp{}, d.errorf(n, "%s: expected an app object with name and script, got %s", label, describe(n))
	}
	c := &appDecoder{fileDecoder: d, app: config.New(), label: label, node: n, fieldLines: map[string]int{}, index: index}
	pairs, err := mappingPairs(n, 0)
	if err != nil {
		return decodedApp{}, d.errorf(n, "%s %w", label, err)
	}
	res := decodedApp{line: d.line(n)}
	// Name first, so that an error in any field names the app; without a name, the one Normalize will derive.
	for _, p := range pairs {
		if s, ok := scalarString(p.value); ok && s != "" {
			switch k := p.key.Value; {
			case k == "name":
				c.setLabel(s)
				res.nameLine = d.line(p.key)
			case !c.named && (k == "script" || fieldAliases[k] == "script"):
				c.setLabel(strings.TrimSuffix(filepath.Base(s), filepath.Ext(s)))
				c.named = false
			}
		}
	}
	seen := map[string]*yaml.Node{}
	for _, p := range pairs {
		key := p.key.Value
		canon := key
		if a, ok := fieldAliases[key]; ok {
			canon = a
		}
		set, known := fields[canon]
		switch {
		case known:
			if prev, ok := seen[canon]; ok {
				d.warnf(p.key, "%s: field %s repeats %s%s; the later value is used", c.label, key, prev.Value, d.at(prev))
			}
			seen[canon] = p.key
			c.fieldLines[canon] = d.line(p.key)
			if isNull(p.value) { // null (or JavaScript undefined) leaves the default
				continue
			}
			if err := set(c, p.value); err != nil {
				return decodedApp{}, c.fieldError(p.key, key, err)
			}
		case strings.HasPrefix(key, "env_") && len(key) > len("env_"):
			env, err := envValues(p.value)
			if err != nil {
				return decodedApp{}, c.fieldError(p.key, key, err)
			}
			if d.opts.Env != "" && key == "env_"+d.opts.Env {
				c.envOver = env // merged after all fields, so that its place in the file does not matter
			}
		default:
			if harmless, ok := unsupported[key]; ok {
				if v := deref(p.value); harmless == "" || v.Kind != yaml.ScalarNode || v.Value != harmless {
					d.warnf(p.key, "%s: field %s is not supported by gpm yet, ignored", c.label, key)
				}
				continue
			}
			d.warnf(p.key, "%s: unknown field %s", c.label, key)
		}
	}
	if c.envOver != nil || d.deployEnv != nil {
		// PM2's order: deploy.<env>.env, then env, then env_<env>.
		env := make(map[string]string, len(d.deployEnv)+len(c.app.Env)+len(c.envOver))
		for _, m := range []map[string]string{d.deployEnv, c.app.Env, c.envOver} {
			for k, v := range m {
				env[k] = v
			}
		}
		c.app.Env = env
	}
	if err := c.app.Normalize(d.base); err != nil {
		return decodedApp{}, c.locate(err)
	}
	if n := seen["append_env_to_name"]; n != nil && d.opts.Env != "" {
		if b, _ := boolValue(c.node.Content[slices.Index(c.node.Content, n)+1]); b {
			// PM2: web with --env production is web-production.
			c.app.Name += "-" + d.opts.Env
			c.setLabel(c.app.Name)
			if err := c.app.Validate(); err != nil {
				return decodedApp{}, c.locate(err)
			}
		}
	}
	if c.logDefault {
		c.app.LogFile = config.DefaultLog
	}
	if !c.named {
		c.setLabel(c.app.Name)
	}
	res.app, res.label, res.decoder = c.app, c.label, c
	return res, nil
}

// setLabel names the app in messages: "apps[1] (api)", or just "api" for a single app at the root.
func (c *appDecoder) setLabel(name string) {
	c.named = true
	if c.index < 0 {
		c.label = name
	} else {
		c.label = fmt.Sprintf("apps[%d] (%s)", c.index, name)
	}
}

// locate adds the file, line and app to an error from Normalize/Validate.
func (c *appDecoder) locate(err error) error {
	var fe *config.FieldError
	if !errors.As(err, &fe) {
		return fmt.Errorf("%s: %s: %w", c.file, c.label, err)
	}
	if c.app.Name != "" && !c.named {
		c.setLabel(c.app.Name) // the name Normalize derived from script
	}
	out := *fe
	out.File, out.App = c.file, c.label
	if l, ok := c.fieldLines[out.Field]; ok && l > 0 {
		out.Line = l
	} else {
		out.Line = c.line(c.node)
	}
	return &out
}
