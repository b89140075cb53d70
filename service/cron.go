package service

import (
	"fmt"
	"time"

	"github.com/gpmd/gpm/api"
	"github.com/gpmd/gpm/config"
)

// cron_restart, as PM2 has it: each process of an app is restarted at the times of the app's expression (PM2
// registers one cron job per process too), in the daemon's local time. A process that has exited on its own
// (autorestart: false, a stop exit code, errored) is started again, which is how PM2 users run scheduled jobs;
// one that a user stopped (`gpm stop`, or saved stopped) is left alone until it is started again.

// armCron schedules p's next cron restart, unless one is pending for its current expression. Runs on the loop.
func (d *Daemon) armCron(p *proc) {
	spec := p.app.CronRestart
	if spec == p.cronSpec && (p.cron != nil || spec == "") {
		return
	}
	d.stopCron(p)
	if spec == "" {
		return
	}
	sched, err := config.ParseCron(spec)
	if err != nil { // checked when the file was read; a dump written by hand may hold anything
		d.log.Printf("%s[%d]: cron_restart: %v", p.app.Name, p.id, err)
		return
	}
	next := sched.Next(time.Now())
	if next.IsZero() {
		// No time matches any more (ParseCron refuses such expressions, but a clock set years ahead can get here):
		// a timer for the zero time would fire at once and restart the app in a tight loop.
		d.log.Printf("%s[%d]: cron_restart %q: never fires again, not armed", p.app.Name, p.id, spec)
		return
	}
	p.cronSpec = spec
	p.cron = time.AfterFunc(time.Until(next), func() {
		d.post(func() {
			if d.procs[p.id] != p || p.cronSpec != spec {
				return // deleted, or given another expression
			}
			p.cron = nil
			d.restartFor(p, fmt.Sprintf("cron_restart %q", spec))
			d.armCron(p)
		})
	})
}

// restartFor restarts p for a reason of gpm's own (cron_restart, watch), unless a user stopped it or it is
// already going down or being replaced by a reload. Runs on the loop.
func (d *Daemon) restartFor(p *proc, why string) {
	if p.held || p.stopAsked || p.status == api.StatusStopping || p.reload != nil {
		return
	}
	d.log.Printf("%s[%d]: %s: restarting", p.app.Name, p.id, why)
	p.restarts++
	d.stop(p, func() { d.start(p, nil) })
}

// stopCron cancels p's pending cron restart.
func (d *Daemon) stopCron(p *proc) {
	if p.cron != nil {
		p.cron.Stop()
		p.cron = nil
	}
	p.cronSpec = ""
}
