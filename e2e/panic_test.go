package e2e

import (
	"context"
	"strings"
	"testing"

	"github.com/gpmd/gpm/client"
)

// TestHandlerPanicRecovered: a panic in a request handler, or in the function it runs on the supervision loop, is
// answered as an error and logged with its stack; the daemon and its apps go on (issue 13: no input may crash the
// daemon). The panics come from a test hook (debug.panic), answered only with GPM_TEST_HOOKS=1.
func TestHandlerPanicRecovered(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	mustRunWith(t, home, opts{env: []string{"GPM_TEST_HOOKS=1"}}, "start", "sleep", "--name", "bystander", "--", "1000")
	before := waitOnline(t, home, "bystander")
	conn, err := client.Dial(context.Background(), home)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, where := range []string{"conn", "loop"} {
		err := conn.Call(context.Background(), "debug.panic", map[string]string{"where": where}, nil)
		if err == nil || !strings.Contains(err.Error(), "internal error") {
			t.Fatalf("debug.panic (%s): %v, want an internal error answered", where, err)
		}
	}
	if after := waitOnline(t, home, "bystander"); after.PID != before.PID {
		t.Errorf("the app's pid changed from %d to %d: the daemon did not survive the panics", before.PID, after.PID)
	}
	log := readFile(t, home+"/gpm.log")
	for _, want := range []string{`control: panic in "debug.panic"`, "panic on the supervision loop", "runtime/debug.Stack"} {
		if !strings.Contains(log, want) {
			t.Errorf("the daemon's log lacks %q:\n%s", want, log)
		}
	}
}
