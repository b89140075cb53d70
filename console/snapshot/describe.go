package snapshot

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gpmd/gpm/api"
)

// Describe writes everything about p as `gpm describe` shows it (and the console's details), one field a line;
// now is the time uptimes are counted to.
func Describe(w io.Writer, p api.Process, now time.Time) {
	a := p.Config
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k string, v any) { fmt.Fprintf(tw, "%s\t%v\n", k, v) }
	row("status", p.Status)
	if p.StatusText != "" {
		row("app status", p.StatusText) // the app's own STATUS= on NOTIFY_SOCKET
	}
	if p.Reason != "" {
		row("reason", p.Reason)
	}
	row("name", p.Name)
	row("namespace", p.Namespace)
	row("id", p.ID)
	row("pid", p.PID)
	row("instance", p.Instance)
	row("mode", p.Mode)
	row("restarts", p.Restarts)
	row("unstable restarts", p.UnstableRestarts)
	if p.ExitCode != nil {
		row("last exit code", *p.ExitCode)
	}
	if p.ExitSignal != "" {
		row("last exit signal", p.ExitSignal)
	}
	if p.StartedAt != nil && p.PID != 0 {
		row("uptime", HumanDuration(max(now.Sub(*p.StartedAt), 0)))
	}
	if p.NextRestart != nil {
		row("next restart", p.NextRestart.Format(time.RFC3339))
	}
	row("created at", p.CreatedAt.Format(time.RFC3339))
	row("script", a.Script)
	row("args", strings.Join(a.Args, " "))
	row("interpreter", orNone(a.Interpreter))
	row("interpreter args", strings.Join(a.InterpreterArgs, " "))
	row("cwd", a.Cwd)
	row("instances", a.Instances)
	row("out log", orNone(p.OutLog))
	row("error log", orNone(p.ErrLog))
	if p.CombinedLog != "" {
		row("combined log", p.CombinedLog)
	}
	row("autorestart", a.Autorestart)
	row("max restarts", a.MaxRestarts)
	row("min uptime", a.MinUptime.D())
	row("restart delay", a.RestartDelay.D())
	row("exp backoff restart delay", a.ExpBackoffRestartDelay.D())
	row("kill signal", a.KillSignal)
	row("kill timeout", a.KillTimeout.D())
	if len(a.StopExitCodes) > 0 {
		row("stop exit codes", fmt.Sprint(a.StopExitCodes))
	}
	if a.CronRestart != "" {
		row("cron restart", a.CronRestart)
	}
	if len(a.Watch) > 0 {
		row("watch", strings.Join(a.Watch, ", "))
		if len(a.IgnoreWatch) > 0 {
			row("ignore watch", strings.Join(a.IgnoreWatch, ", "))
		}
		if a.WatchDelay > 0 {
			row("watch delay", a.WatchDelay.D())
		}
	}
	if a.MaxMemoryRestart > 0 {
		row("max memory restart", HumanBytes(uint64(a.MaxMemoryRestart)))
	}
	if a.MemoryMax > 0 {
		row("memory max", HumanBytes(uint64(a.MemoryMax)))
	}
	if a.CPUQuota > 0 {
		row("cpu quota", fmt.Sprintf("%d%%", a.CPUQuota))
	}
	if a.TasksMax > 0 {
		row("tasks max", a.TasksMax)
	}
	row("cpu", fmt.Sprintf("%.1f%% (%.2f s this run, whole tree)", p.CPU, p.CPUSeconds))
	row("memory", HumanBytes(p.Memory)+" (whole tree)")
	if p.Containment != "" {
		row("containment", p.Containment+": "+p.ContainmentReason)
	}
	if p.Cgroup != "" {
		row("cgroup", p.Cgroup)
	}
	if len(a.Env) > 0 {
		keys := make([]string, 0, len(a.Env))
		for k := range a.Env {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		row("env", strings.Join(keys, ", "))
	}
	tw.Flush()
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
