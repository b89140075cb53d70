package service

import (
	"strings"
	"testing"
	"time"

	"github.com/gpmd/gpm/config"
)

func TestDecide(t *testing.T) {
	base := config.New()
	with := func(f func(*config.App)) config.App { a := base.Clone(); f(&a); return a }
	ms := time.Millisecond
	tests := []struct {
		name     string
		app      config.App
		unstable int
		backoff  time.Duration
		ex       exitFacts
		act      action
		delay    time.Duration
		unstab   bool
		reason   string
	}{
		{"asked to stop", base, 0, 0, exitFacts{code: 0, stopAsked: true, uptime: time.Hour}, actStop, 0, false, "stopped"},
		{"asked to stop while crashing", base, 15, 0, exitFacts{code: 1, stopAsked: true}, actStop, 0, false, "stopped"},
		{"stable exit restarts at once", base, 0, 0, exitFacts{code: 0, uptime: 5 * time.Second}, actRestart, 0, false, "code 0"},
		{"crash restarts at once", base, 0, 0, exitFacts{code: 1, uptime: 5 * time.Second}, actRestart, 0, false, "code 1"},
		{"killed by signal restarts", base, 0, 0, exitFacts{code: -1, signal: "SIGKILL", uptime: time.Minute}, actRestart, 0, false, "SIGKILL"},
		{"fast exit is unstable", base, 0, 0, exitFacts{code: 1, uptime: 10 * ms}, actRestart, 0, true, "code 1"},
		{"16th fast exit errors", base, 15, 0, exitFacts{code: 1, uptime: 10 * ms}, actErrored, 0, true, "max_restarts (16)"},
		// PM2 #841: the count covers the app's whole life, so a crash loop that starts late still ends.
		{"late loop still errors", with(func(a *config.App) { a.MaxRestarts = 3 }), 2, 0,
			exitFacts{code: 1, uptime: 10 * ms}, actErrored, 0, true, "max_restarts (3)"},
		{"slow exit does not count", with(func(a *config.App) { a.MaxRestarts = 3 }), 2, 0,
			exitFacts{code: 1, uptime: 2 * time.Second}, actRestart, 0, false, ""},
		{"custom min_uptime", with(func(a *config.App) { a.MinUptime = 5000 }), 0, 0,
			exitFacts{code: 1, uptime: 2 * time.Second}, actRestart, 0, true, ""},
		{"autorestart off", with(func(a *config.App) { a.Autorestart = false }), 0, 0,
			exitFacts{code: 1, uptime: time.Second}, actStop, 0, false, "autorestart is off"},
		{"stop exit code", with(func(a *config.App) { a.StopExitCodes = []int{0, 3} }), 0, 0,
			exitFacts{code: 3, uptime: time.Second}, actStop, 0, false, "stop_exit_codes"},
		{"other exit code restarts", with(func(a *config.App) { a.StopExitCodes = []int{0, 3} }), 0, 0,
			exitFacts{code: 4, uptime: time.Second}, actRestart, 0, false, ""},
		{"signal is no exit code", with(func(a *config.App) { a.StopExitCodes = []int{0} }), 0, 0,
			exitFacts{code: -1, signal: "SIGTERM", uptime: time.Second}, actRestart, 0, false, ""},
		{"restart delay", with(func(a *config.App) { a.RestartDelay = 250 }), 0, 0,
			exitFacts{code: 1, uptime: time.Second * 2}, actRestart, 250 * ms, false, ""},
		// PM2 leaves such an app "waiting restart" forever; here the crash loop wins over the delay.
		{"restart delay does not hide a crash loop", with(func(a *config.App) { a.RestartDelay = 250 }), 15, 0,
			exitFacts{code: 1, uptime: ms}, actErrored, 0, true, "max_restarts"},
		{"backoff starts at its base", with(func(a *config.App) { a.ExpBackoffRestartDelay = 100 }), 0, 0,
			exitFacts{code: 1, uptime: 2 * time.Second}, actRestart, 100 * ms, false, ""},
		{"backoff grows by 1.5", with(func(a *config.App) { a.ExpBackoffRestartDelay = 100 }), 0, 100 * ms,
			exitFacts{code: 1, uptime: 2 * time.Second}, actRestart, 150 * ms, false, ""},
		{"backoff is capped at 15s", with(func(a *config.App) { a.ExpBackoffRestartDelay = 100 }), 0, 12 * time.Second,
			exitFacts{code: 1, uptime: 2 * time.Second}, actRestart, 15 * time.Second, false, ""},
		{"backoff resets after 30s up", with(func(a *config.App) { a.ExpBackoffRestartDelay = 100 }), 0, 10 * time.Second,
			exitFacts{code: 1, uptime: 31 * time.Second}, actRestart, 100 * ms, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := decide(&tt.app, tt.unstable, tt.backoff, tt.ex)
			if d.act != tt.act || d.delay != tt.delay || d.unstable != tt.unstab {
				t.Fatalf("decide = {act %d delay %v unstable %v}, want {act %d delay %v unstable %v} (reason %q)",
					d.act, d.delay, d.unstable, tt.act, tt.delay, tt.unstab, d.reason)
			}
			if !strings.Contains(d.reason, tt.reason) {
				t.Fatalf("reason %q does not mention %q", d.reason, tt.reason)
			}
		})
	}
}
