//go:build linux

package service

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gpmd/gpm/api"
	"github.com/gpmd/gpm/service/module"
)

// TestModuleConfigTooLarge: settings whose GPM_MODULE_CONFIG would be over what exec passes in one variable are
// refused with an error naming the limit, and the module keeps running with its configuration; the start that
// failed in exec (E2BIG) took the running module down.
func TestModuleConfigTooLarge(t *testing.T) {
	d := runDaemon(t, Options{})
	c := d.Caller()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// runDaemon's ping answers before Run has read the settings; a list waits for the loop.
	if err := c.Call(ctx, api.MethodList, nil, nil); err != nil {
		t.Fatal(err)
	}
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, module.ManifestName), []byte(`{"name":"big","command":["/bin/sleep","60"]}`), 0o644)
	if _, err := module.Install(d.opts.Home, src, module.Options{}); err != nil {
		t.Fatal(err)
	}
	if err := c.Call(ctx, api.MethodModuleStart, api.ModuleParams{Name: "big"}, nil); err != nil {
		t.Fatalf("module.start: %v", err)
	}
	defer c.Call(ctx, api.MethodDelete, api.Targets{Targets: []string{"modules"}}, nil)
	list := func() api.Process {
		var list []api.Process
		if err := c.Call(ctx, api.MethodList, nil, &list); err != nil || len(list) != 1 {
			t.Fatalf("list: %v %+v", err, list)
		}
		return list[0]
	}
	// Each set starts the module again; the one over the limit must not.
	var err error
	var before api.Process
	var key string
	for i := 0; i < 64 && err == nil; i++ {
		before = list()
		key = "big:k" + strings.Repeat("0", i)
		err = c.Call(ctx, api.MethodSet, api.SetParams{Key: key, Value: strings.Repeat("v", 4000)}, nil)
	}
	if err == nil || !strings.Contains(err.Error(), "module.MaxConfig") {
		t.Errorf("settings over the limit: %v, want an error naming module.MaxConfig", err)
	}
	// Refused, it changed nothing: the value is not stored (the module's next start would meet it again).
	var got map[string]string
	if err := c.Call(ctx, api.MethodGet, api.GetParams{Key: key}, &got); err == nil {
		t.Errorf("get %s: %d bytes stored by the set that was refused", key, len(got[key]))
	}
	if p := list(); p.Status != api.StatusOnline || p.PID != before.PID {
		t.Errorf("the module is %s (pid %d), want still online as pid %d", p.Status, p.PID, before.PID)
	}
}
