package procfile

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// JavaScript process files (ecosystem.config.js) can only be evaluated by JavaScript. gpm does not embed an engine:
// it runs the user's own `node` (argument vector, no shell) and reads back JSON.stringify(module.exports).

// jsTimeout bounds the evaluation: a config that starts a server or a timer would otherwise hang the CLI.
const jsTimeout = 30 * time.Second

// jsMarker precedes the JSON on stdout, so that a config which prints to stdout cannot corrupt the result.
const jsMarker = "\n\x1egpm-process-file-json\x1e\n"

// jsPrelude sends console output to stderr and defines out(value) and fail(error).
const jsPrelude = `
const util = require('util');
for (const k of ['log', 'info', 'debug', 'dir']) console[k] = (...a) => process.stderr.write(util.format(...a) + '\n');
const out = (v) => process.stdout.write(process.env.GPM_JS_MARKER + JSON.stringify(v === undefined ? null : v), () => process.exit(0));
const fail = (e) => { process.stderr.write(String((e && e.stack) || e) + '\n'); process.exit(1); };
`

// jsImportFile imports the file at argv[1] (CommonJS or ES module) and prints its exports: module.exports, or the
// default export of an ES module, or its named exports when there is no default.
const jsImportFile = jsPrelude + `
import(require('url').pathToFileURL(process.argv[1]).href)
  .then((m) => ('default' in m ? m.default : m)).then(out, fail);
`

// jsCompileStdin evaluates the source on stdin as the module at argv[1]: CommonJS through Module._compile, so that
// require() resolves relative to the file; .mjs as an ES module from a data: URL.
const jsCompileStdin = jsPrelude + `
const chunks = [];
process.stdin.on('data', (c) => chunks.push(c)).on('end', () => {
  const src = Buffer.concat(chunks).toString('utf8'), file = process.argv[1];
  try {
    if (file.endsWith('.mjs')) {
      import('data:text/javascript;base64,' + Buffer.from(src).toString('base64'))
        .then((m) => ('default' in m ? m.default : m)).then(out, fail);
      return;
    }
    const Module = require('module'), m = new Module(file, null);
    m.filename = file;
    m.paths = Module._nodeModulePaths(require('path').dirname(file));
    m._compile(src, file);
    Promise.resolve(m.exports).then(out, fail);
  } catch (e) { fail(e); }
});
`

// errNoNode is returned, wrapped, when a JS process file is given and node is not in PATH.
var errNoNode = errors.New("evaluating JavaScript process files needs Node.js to evaluate JavaScript process files, and node was not found in PATH; " +
	"write the apps as JSON (ecosystem.json) or YAML (ecosystem.yml), which gpm reads without Node.js")

// evalJSFile runs node on the process file at the absolute path abs and returns the JSON of its exports.
func evalJSFile(abs string) ([]byte, error) {
	return runNode(jsImportFile, abs, nil)
}

// evalJSSource runs node on src as if it were the file name in directory base.
func evalJSSource(name, base string, src []byte) ([]byte, error) {
	file := name
	if !filepath.IsAbs(file) {
		file = filepath.Join(base, filepath.Base(name))
	}
	return runNode(jsCompileStdin, file, src)
}

func runNode(script, file string, stdin []byte) ([]byte, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, fmt.Errorf("%w (%w)", errNoNode, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), jsTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "-e", script, file)
	cmd.Env = append(cmd.Environ(), "GPM_JS_MARKER="+jsMarker)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("did not finish within %v (does it start a server or a timer?): %w", jsTimeout, ctx.Err())
		}
		return nil, fmt.Errorf("evaluate with node: %w%s", err, stderrTail(stderr.String()))
	}
	i := bytes.LastIndex(stdout.Bytes(), []byte(jsMarker))
	if i < 0 {
		return nil, fmt.Errorf("evaluate with node: no result on stdout%s", stderrTail(stderr.String()))
	}
	return stdout.Bytes()[i+len(jsMarker):], nil
}

// stderrTail keeps the first lines of node's stderr for an error message: the file and line, the exception and its
// first frames.
func stderrTail(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	var lines []string
	for l := range strings.SplitSeq(s, "\n") {
		if !strings.Contains(l, "node:internal") && len(lines) < 12 { // Node's own frames say nothing about the file
			lines = append(lines, l)
		}
	}
	return ":\n\t" + strings.Join(lines, "\n\t")
}
