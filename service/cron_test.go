package service

import (
	"testing"

	"github.com/gpmd/gpm/config"
)

// TestCronNeverFiresNotArmed_Issue11Item6: an expression that never fires ("0 0 30 2 *": robfig's Next returns the
// zero time) must not arm a timer: one armed for the zero time fired at once and restarted the app for ever. A dump
// written by hand reaches armCron without the process-file check.
func TestCronNeverFiresNotArmed_Issue11Item6(t *testing.T) {
	d := New(Options{})
	p := &proc{id: 1, app: config.App{Name: "feb30", CronRestart: "0 0 30 2 *"}}
	d.procs[p.id] = p
	d.armCron(p)
	if p.cron != nil {
		p.cron.Stop()
		t.Fatalf("cron_restart %q armed a timer", p.app.CronRestart)
	}
	p.app.CronRestart = "0 3 * * *"
	d.armCron(p)
	if p.cron == nil {
		t.Fatalf("cron_restart %q not armed", p.app.CronRestart)
	}
	d.stopCron(p)
}
