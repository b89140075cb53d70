package config

import (
	"github.com/gpmd/gpm/internal/fuzzbudget"
	"testing"
	"time"

	"github.com/robfig/cron/v3"
)

// FuzzParseCron: ParseCron returns an error or a schedule whose next activation, from any start, is after it.
func FuzzParseCron(f *testing.F) {
	starts := []time.Time{
		time.Date(2026, 2, 28, 23, 59, 59, 0, time.UTC),
		time.Date(2024, 12, 31, 23, 59, 59, 999_999_999, time.UTC),
		time.Date(2026, 3, 29, 1, 30, 0, 0, time.FixedZone("CET", 3600)),
	}
	f.Fuzz(func(t *testing.T, s string) {
		var (
			sched cron.Schedule
			err   error
		)
		fuzzbudget.Bounded(t, "ParseCron", len(s), func() { sched, err = ParseCron(s) })
		if err != nil {
			if err.Error() == "" {
				t.Fatalf("ParseCron(%q): an error without a message", s)
			}
			return
		}
		for _, from := range starts {
			var next time.Time
			fuzzbudget.Bounded(t, "Next", len(s), func() { next = sched.Next(from) })
			if !next.IsZero() && !next.After(from) {
				t.Fatalf("ParseCron(%q).Next(%v) = %v: not after the start", s, from, next)
			}
		}
	})
}

// Found by FuzzParseCron: robfig/cron panicked on a time zone without a schedule after a space, and the daemon
// parses cron_restart on its loop (service/cron.go), so one start request carrying it ended the daemon.
func TestParseCronTimeZoneWithoutSchedule_Fuzz(t *testing.T) {
	for _, s := range []string{"TZ=", "CRON_TZ=UTC", " TZ=Europe/Paris ", "CRON_TZ=UTC\t0 3 * * *"} {
		if _, err := ParseCron(s); err == nil {
			t.Errorf("ParseCron(%q): no error", s)
		}
	}
	if _, err := ParseCron("CRON_TZ=UTC 0 3 * * *"); err != nil {
		t.Errorf("a time zone and a schedule: %v", err)
	}
}
