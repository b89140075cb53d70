package procfile

import (
	"github.com/gpmd/gpm/config"
	"github.com/gpmd/gpm/internal/fuzzbudget"
	"slices"
	"strings"
	"testing"
)

// FuzzImportPM2 feeds PM2 dumps (dump.pm2) to ImportPM2: an error, or apps that are valid, uniquely named, within
// MaxInstances, with one distinct instance number per instance and none of the variables ImportPM2 drops.
func FuzzImportPM2(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		var (
			apps []ImportedApp
			err  error
		)
		fuzzbudget.Bounded(t, "ImportPM2", len(data), func() { apps, err = ImportPM2(data) })
		if err != nil {
			if err.Error() == "" {
				t.Fatal("ImportPM2: an error without a message")
			}
			return
		}
		names := map[string]bool{}
		for _, imp := range apps {
			a := imp.App
			if verr := a.Validate(); verr != nil {
				t.Fatalf("accepted an invalid app %q: %v", a.Name, verr)
			}
			if names[a.Name] {
				t.Fatalf("two apps named %q", a.Name)
			}
			names[a.Name] = true
			if a.Instances != len(imp.Instances) || a.Instances < 1 || a.Instances > config.MaxInstances {
				t.Fatalf("app %q: Instances %d for %d instance numbers (at most MaxInstances, %d)", a.Name,
					a.Instances, len(imp.Instances), config.MaxInstances)
			}
			seen := map[int]bool{}
			for _, n := range imp.Instances {
				if n < 0 || n > config.MaxInstances || seen[n] {
					t.Fatalf("app %q: instance numbers %v: each must be distinct, in 0..%d", a.Name, imp.Instances, config.MaxInstances)
				}
				seen[n] = true
			}
			for k := range a.Env {
				if isSessionVar(k) || k == a.InstanceVar || k == a.Name {
					t.Fatalf("app %q: env keeps %s, which ImportPM2 drops", a.Name, k)
				}
			}
		}
	})
}

// Found by FuzzImportPM2: two elements of one app with the same instance number were imported as two instances
// with that number (the same NODE_APP_INSTANCE, the same increment_var port).
func TestImportPM2DistinctInstanceNumbers_Fuzz(t *testing.T) {
	apps, err := ImportPM2([]byte(`[{"name":"d","pm_exec_path":"/d.sh","NODE_APP_INSTANCE":1},
		{"name":"d","NODE_APP_INSTANCE":1},{"name":"d"},{"name":"d","NODE_APP_INSTANCE":0}]`))
	if err != nil {
		t.Fatal(err)
	}
	if got := apps[0].Instances; !slices.Equal(got, []int{1, 0, 2, 3}) {
		t.Fatalf("instance numbers %v, want [1 0 2 3]: the dump's first, then the lowest free ones", got)
	}
}

// The instance cap of process files (MaxInstances) holds for a dump too: one element per instance, so a dump
// of 5,000 elements named alike would otherwise start 5,000 processes.
func TestImportPM2MaxInstances_Fuzz(t *testing.T) {
	dump := func(n int) []byte {
		return []byte("[" + strings.Repeat(`{"name":"many","pm_exec_path":"/m.sh"},`, n-1) + `{"name":"many"}]`)
	}
	if apps, err := ImportPM2(dump(config.MaxInstances)); err != nil || apps[0].App.Instances != config.MaxInstances {
		t.Fatalf("%d instances: %v", config.MaxInstances, err)
	}
	if _, err := ImportPM2(dump(config.MaxInstances + 1)); err == nil || !strings.Contains(err.Error(), "MaxInstances") {
		t.Fatalf("%d instances: %v, want an error naming MaxInstances", config.MaxInstances+1, err)
	}
}
