package service

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gpmd/gpm/api"
)

// The debug.profile hook writes a CPU or a heap profile when GPM_TEST_HOOKS=1, and is an unknown method otherwise.
func TestProfileHook(t *testing.T) {
	t.Setenv("GPM_TEST_HOOKS", "1")
	d := runDaemon(t, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dir := t.TempDir()
	for _, p := range []map[string]any{{"path": filepath.Join(dir, "cpu"), "ms": 50}, {"path": filepath.Join(dir, "heap"), "heap": true}} {
		if err := d.Caller().Call(ctx, methodProfile, p, nil); err != nil {
			t.Fatalf("%v: %v", p, err)
		}
		b, err := os.ReadFile(p["path"].(string))
		// A profile is gzip-compressed protobuf: the gzip magic first.
		if err != nil || len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
			t.Errorf("%v: %d bytes, %v; want a gzip-compressed profile", p, len(b), err)
		}
	}
	t.Setenv("GPM_TEST_HOOKS", "") // a daemon takes its environment when it is made
	plain := runDaemon(t, Options{})
	err := plain.Caller().Call(ctx, methodProfile, map[string]any{"path": filepath.Join(dir, "x"), "heap": true}, nil)
	if ae := (*api.Error)(nil); !errors.As(err, &ae) || ae.Code != api.CodeInvalid {
		t.Errorf("the hook without GPM_TEST_HOOKS=1: %v, want an unknown method", err)
	}
}
