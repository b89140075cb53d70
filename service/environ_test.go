package service

import (
	"testing"

	"github.com/gpmd/gpm/config"
)

func TestEnvironIdentity(t *testing.T) {
	caller := map[string]string{"HOME": "/root", "USER": "root", "LOGNAME": "root", "PATH": "/usr/bin"}
	tests := []struct {
		name   string
		id     identity
		appEnv map[string]string
		want   map[string]string
	}{
		{"the daemon's user: the caller's", identity{uid: -1, gid: -1}, nil,
			map[string]string{"HOME": "/root", "USER": "root", "LOGNAME": "root", "PATH": "/usr/bin"}},
		{"another user: theirs", identity{uid: 33, gid: 33, name: "www-data", home: "/var/www"}, nil,
			map[string]string{"HOME": "/var/www", "USER": "www-data", "LOGNAME": "www-data", "PATH": "/usr/bin"}},
		{"a group alone: the caller's", identity{uid: 0, gid: 33}, nil,
			map[string]string{"HOME": "/root", "USER": "root"}},
		{"the app's env wins", identity{uid: 33, gid: 33, name: "www-data", home: "/var/www"}, map[string]string{"HOME": "/srv/app"},
			map[string]string{"HOME": "/srv/app", "USER": "www-data"}},
		{"endpoints", identity{uid: -1, gid: -1}, nil, map[string]string{"NOTIFY_SOCKET": "/run/n.sock"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := New(Options{Home: "/home/u/.gpm"})
			p := &proc{id: 4, callerEnv: caller, app: config.App{Name: "web", InstanceVar: "NODE_APP_INSTANCE", Env: tt.appEnv}}
			env := envMap(d.environ(p, tt.id, endpoints{notify: "/run/n.sock"}))
			for k, v := range tt.want {
				if env[k] != v {
					t.Errorf("%s=%q, want %q", k, env[k], v)
				}
			}
			if env["GPM_ID"] != "4" || env["GPM_NAME"] != "web" || env["GPM_HOME"] != "/home/u/.gpm" {
				t.Errorf("GPM_ variables missing: %v", env)
			}
		})
	}
}
