package config

import (
	"fmt"
	"strings"

	"github.com/robfig/cron/v3"
)

// cronParser reads cron_restart as PM2 does (it uses croner): five fields, or six with seconds first, and the
// @yearly/@monthly/@weekly/@daily/@hourly descriptors.
var cronParser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// ParseCron parses a cron_restart expression.
func ParseCron(s string) (cron.Schedule, error) {
	sched, err := cronParser.Parse(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("must be a cron expression such as \"0 3 * * *\" (minute hour day month weekday, "+
			"optionally with seconds first, or @daily): %w", err)
	}
	return sched, nil
}
