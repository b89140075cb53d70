package config

import "strings"

// IsProcessFile reports whether a CLI argument names a process file (package procfile parses them) rather than a
// script or an app name: it ends in .json, .json5, .yml, .yaml, .config.js, .config.cjs or .config.mjs (any case).
// A plain "app.js" is a script. It is here, not in procfile, so that the CLI can tell without linking the parsers.
func IsProcessFile(arg string) bool {
	n := strings.ToLower(arg)
	for _, ext := range []string{".json", ".json5", ".yml", ".yaml", ".config.js", ".config.cjs", ".config.mjs"} {
		if strings.HasSuffix(n, ext) {
			return true
		}
	}
	return false
}
