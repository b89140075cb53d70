package config

import "testing"

func TestIsProcessFile(t *testing.T) {
	for arg, want := range map[string]bool{
		"ecosystem.json": true, "e.json5": true, "APP.YML": true, "x.yaml": true, "ecosystem.config.js": true,
		"e.config.cjs": true, "e.config.mjs": true, "app.js": false, "api": false, "server.py": false, "-": false,
	} {
		if got := IsProcessFile(arg); got != want {
			t.Errorf("IsProcessFile(%q) = %v, want %v", arg, got, want)
		}
	}
}
