package main

import (
	"testing"

	"github.com/gpmd/gpm/config/procfile"
)

// TestEcosystemTemplate: the file gpm ecosystem writes is one gpm reads, without warnings, with what it says.
func TestEcosystemTemplate(t *testing.T) {
	for _, env := range []string{"", "production"} {
		f, err := procfile.Parse(ecosystemName, []byte(ecosystemTemplate), "/srv/app", procfile.LoadOptions{Env: env, NumCPU: 4})
		if err != nil {
			t.Fatalf("--env %q: %v", env, err)
		}
		if len(f.Warnings) > 0 {
			t.Errorf("--env %q: warnings %v", env, f.Warnings)
		}
		if len(f.Apps) != 2 || f.Apps[0].Name != "api" || f.Apps[1].Name != "worker" {
			t.Fatalf("apps %+v", f.Apps)
		}
		api := f.Apps[0]
		want := map[string]string{"": "development", "production": "production"}[env]
		if api.Instances != 2 || api.ExecMode != "cluster" || len(api.Listen) != 1 || api.Env["NODE_ENV"] != want {
			t.Errorf("--env %q: api %+v", env, api)
		}
	}
}
