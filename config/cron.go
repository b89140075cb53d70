package config

import (
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// cronParser reads cron_restart as PM2 does (it uses croner): five fields, or six with seconds first, and the
// @yearly/@monthly/@weekly/@daily/@hourly descriptors.
var cronParser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// ParseCron parses a cron_restart expression. It refuses one that never fires, such as "0 0 30 2 *" (February 30):
// robfig/cron's Next returns the zero time for it (it searches five years ahead), and a timer armed for the zero
// time fires at once, for ever.
func ParseCron(s string) (cron.Schedule, error) {
	s = strings.TrimSpace(s)
	if (strings.HasPrefix(s, "TZ=") || strings.HasPrefix(s, "CRON_TZ=")) && !strings.Contains(s, " ") {
		// robfig/cron v3.0.1 cuts the zone at the first space without checking there is one: a slice panic
		return nil, fmt.Errorf("must be a cron expression such as \"CRON_TZ=Europe/Paris 0 3 * * *\": %q has a time zone and no schedule", s)
	}
	sched, err := cronParser.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("must be a cron expression such as \"0 3 * * *\" (minute hour day month weekday, "+
			"optionally with seconds first, or @daily): %w", err)
	}
	if sched.Next(time.Now()).IsZero() {
		return nil, fmt.Errorf("%q never fires: no date matches it within five years (such as February 30)", s)
	}
	return sched, nil
}
