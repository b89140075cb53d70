package procfile

import (
	"slices"
	"testing"
)

// TestImportPM2StopKeys_Issue14Item15: a PM2 dump's treekill, filter_env and shutdown_with_message are taken over.
func TestImportPM2StopKeys_Issue14Item15(t *testing.T) {
	apps, err := ImportPM2([]byte(`[{"name": "a", "pm_exec_path": "/a", "treekill": false, "filter_env": ["SECRET_"],
	  "shutdown_with_message": true}]`))
	if err != nil {
		t.Fatal(err)
	}
	a := apps[0].App
	if !a.NoTreekill || !slices.Equal(a.FilterEnv, []string{"SECRET_"}) || !a.ShutdownWithMessage {
		t.Errorf("imported %+v; want no_treekill, filter_env [SECRET_], shutdown_with_message", a)
	}
}
