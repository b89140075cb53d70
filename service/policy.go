package service

import (
	"fmt"
	"slices"
	"time"

	"github.com/gpmd/gpm/config"
)

// Restart policy constants, as PM2 has them.
const (
	backoffFactor = 1.5
	backoffCap    = 15 * time.Second
	// backoffReset is the uptime after which an app counts as healthy again and its backoff starts over.
	backoffReset = 30 * time.Second
)

// exitFacts is what the policy needs to know about one exit.
type exitFacts struct {
	code      int    // -1 when killed by a signal
	signal    string // "" unless killed by a signal
	uptime    time.Duration
	stopAsked bool // the exit follows a stop, restart or delete
}

// action is what happens after an exit.
type action int

const (
	actStop    action = iota // stay down: status stopped
	actErrored               // stay down: status errored, crash loop
	actRestart               // start again after delay
)

// decision is the outcome of decide.
type decision struct {
	act      action
	delay    time.Duration
	unstable bool          // this exit counts towards max_restarts
	backoff  time.Duration // the new exponential backoff state
	reason   string
}

// decide applies the keep-alive policy to one exit. unstable is the app's count of unstable exits so far, over its
// whole life (PM2 only counts inside its first min_uptime*max_restarts ms, so a loop that starts later never ends:
// PM2 #841, #1496); backoff is the delay used for the previous restart under exp_backoff_restart_delay.
func decide(app *config.App, unstable int, backoff time.Duration, ex exitFacts) decision {
	how := fmt.Sprintf("exited with code %d", ex.code)
	if ex.signal != "" {
		how = "killed by " + ex.signal
	}
	switch {
	case ex.stopAsked:
		return decision{act: actStop, reason: "stopped"}
	case !app.Autorestart:
		return decision{act: actStop, reason: how + "; autorestart is off"}
	case ex.signal == "" && slices.Contains(app.StopExitCodes, ex.code):
		return decision{act: actStop, reason: how + ", which is in stop_exit_codes"}
	}
	d := decision{act: actRestart, reason: how}
	if ex.uptime < app.MinUptime.D() {
		d.unstable = true
		if unstable+1 >= app.MaxRestarts {
			d.act = actErrored
			d.reason = fmt.Sprintf("%s; %d restarts within min_uptime (%v) of start reached max_restarts (%d)",
				how, unstable+1, app.MinUptime.D(), app.MaxRestarts)
			return d
		}
	}
	switch {
	case app.ExpBackoffRestartDelay > 0:
		next := app.ExpBackoffRestartDelay.D()
		if backoff > 0 && ex.uptime < backoffReset {
			next = time.Duration(float64(backoff) * backoffFactor)
		}
		d.delay = min(next, backoffCap)
		d.backoff = d.delay
	case app.RestartDelay > 0:
		d.delay = app.RestartDelay.D()
	}
	return d
}
