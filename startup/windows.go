package startup

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/kardianos/service"
)

// A Windows service has no file to render: it is a registration in the service control manager, which
// kardianos/service makes (CreateService, the event log source, the environment in the registry). What --print
// shows and the golden file pins is the kardianos Config gpm passes, plus the recovery actions set after it.

// RecoveryAction is one step of a Windows service's failure schedule: after the Nth failure, restart after Delay.
type RecoveryAction struct{ Delay time.Duration }

// Recovery is gpm's failure schedule: kardianos sets a single action (and only when OnFailure is given), so after
// Install gpm sets three, and forgets the failures after a day up.
var (
	Recovery            = []RecoveryAction{{time.Second}, {5 * time.Second}, {30 * time.Second}}
	RecoveryResetPeriod = 24 * time.Hour
)

// noProgram satisfies kardianos's Interface for installing; the daemon itself does not run through kardianos.
type noProgram struct{}

func (noProgram) Start(service.Service) error { return nil }
func (noProgram) Stop(service.Service) error  { return nil }

// windowsConfig is the kardianos configuration of the gpm Windows service.
func windowsConfig(s *Spec) *service.Config {
	env := map[string]string{}
	if s.GPMHome != "" {
		env["GPM_HOME"] = s.GPMHome
	}
	if s.Path != "" {
		env["PATH"] = s.Path
	}
	return &service.Config{
		Name:        s.Name,
		DisplayName: "gpm process manager",
		Description: "Runs the gpm daemon, which starts its saved list of applications and keeps them running.",
		Executable:  s.Exe,
		Arguments:   []string{"daemon", "--resurrect"},
		UserName:    s.User,
		EnvVars:     env,
		Option: service.KeyValue{
			"StartType":              "automatic",
			"DelayedAutoStart":       false,
			"OnFailure":              "restart",
			"OnFailureDelayDuration": Recovery[0].Delay.String(),
			"OnFailureResetPeriod":   int(RecoveryResetPeriod / time.Second),
		},
	}
}

func renderWindows(s *Spec) ([]File, error) {
	c := windowsConfig(s)
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Windows service %q, registered with the service control manager by kardianos/service.\n", c.Name)
	fmt.Fprintf(&b, "Name:        %s\nDisplayName: %s\nDescription: %s\n", c.Name, c.DisplayName, c.Description)
	fmt.Fprintf(&b, "Executable:  %s\nArguments:   %s\n", c.Executable, strings.Join(c.Arguments, " "))
	user := c.UserName
	if user == "" {
		user = "LocalSystem"
	}
	fmt.Fprintf(&b, "UserName:    %s\n", user)
	for _, k := range sortedKeys(c.EnvVars) {
		fmt.Fprintf(&b, "EnvVar:      %s=%s\n", k, c.EnvVars[k])
	}
	for _, k := range sortedKeys(c.Option) {
		fmt.Fprintf(&b, "Option:      %s=%v\n", k, c.Option[k])
	}
	var steps []string
	for _, a := range Recovery {
		steps = append(steps, "restart after "+a.Delay.String())
	}
	fmt.Fprintf(&b, "Recovery:    %s; failure count reset after %s up\n", strings.Join(steps, ", "), RecoveryResetPeriod)
	return []File{{Data: b.Bytes(), Doc: "Windows service"}}, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
