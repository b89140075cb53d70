package service

import (
	"testing"

	"github.com/gpmd/gpm/config"
)

func TestWatchFilterIgnored(t *testing.T) {
	const cwd = "/srv/app"
	tests := []struct {
		name   string
		watch  []string
		ignore []string
		path   string
		want   bool
	}{
		{"a source file", []string{"."}, nil, "/srv/app/src/main.py", false},
		{"node_modules, by default", []string{"."}, nil, "/srv/app/node_modules/x/index.js", true},
		{"a dot file, by default", []string{"."}, nil, "/srv/app/.env", true},
		{"in a dot directory, by default", []string{"."}, nil, "/srv/app/.git/index", true},
		{"outside the watched paths", []string{"src"}, nil, "/srv/app/docs/a.md", true},
		{"inside a watched path", []string{"src"}, nil, "/srv/app/src/a/b.go", false},
		{"a watched file", []string{"config.json"}, nil, "/srv/app/config.json", false},
		{"a sibling of a watched file", []string{"config.json"}, nil, "/srv/app/other.json", true},
		{"an absolute watch path", []string{"/etc/app"}, nil, "/etc/app/app.conf", false},
		{"a given list replaces the default", []string{"."}, []string{"logs"}, "/srv/app/node_modules/x.js", false},
		{"a name anywhere", []string{"."}, []string{"logs"}, "/srv/app/a/logs/x", true},
		{"a path prefix", []string{"."}, []string{"./src/gen"}, "/srv/app/src/gen/x.go", true},
		{"not a prefix of a name", []string{"."}, []string{"src/gen"}, "/srv/app/src/generated.go", false},
		{"a glob on the name", []string{"."}, []string{"*.log"}, "/srv/app/a/b/c.log", true},
		{"a glob on the path", []string{"."}, []string{"tmp/*"}, "/srv/app/tmp/x", true},
		{"a glob that does not match", []string{"."}, []string{"*.log"}, "/srv/app/a.txt", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &proc{app: config.App{Cwd: cwd, Watch: tt.watch, IgnoreWatch: tt.ignore}}
			f := newWatchFilter(p)
			if got := f.ignored(tt.path); got != tt.want {
				t.Errorf("ignored(%s) = %v, want %v", tt.path, got, tt.want)
			}
		})
	}
}
