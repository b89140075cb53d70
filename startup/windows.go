package startup

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// A Windows service has no file to render: it is a registration in the service control manager, which
// kardianos/service makes (CreateService, the event log source, the environment in the registry). What --print
// shows and the golden file pins is the kardianos Config gpm passes, plus the recovery actions set after it.

// errNotWindows: a Windows service can only be installed by the Windows build.
var errNotWindows = errors.New("startup: a Windows service can be installed on Windows only (--print shows it)")

// RecoveryAction is one step of a Windows service's failure schedule: after the Nth failure, restart after Delay.
type RecoveryAction struct{ Delay time.Duration }

// Recovery is gpm's failure schedule: kardianos sets a single action (and only when OnFailure is given), so after
// Install gpm sets three, and forgets the failures after a day up. They apply to a crash and also to a daemon that
// exits with an error (which reports a service-specific exit code); a clean exit (gpm kill) leaves it stopped.
var (
	Recovery            = []RecoveryAction{{time.Second}, {5 * time.Second}, {30 * time.Second}}
	RecoveryResetPeriod = 24 * time.Hour
)

// winService is the kardianos/service Config of the gpm Windows service, field for field (windows_install.go
// converts it). It is gpm's own type so that only the Windows build links kardianos/service: its package init
// probes for upstart, OpenRC, procd and systemctl on every run, 0.7 ms added to each CLI call on Linux.
type winService struct {
	Name, DisplayName, Description string
	Executable                     string
	Arguments                      []string
	UserName                       string
	EnvVars                        map[string]string
	Option                         map[string]any
}

// windowsConfig is the configuration of the gpm Windows service.
func windowsConfig(s *Spec) *winService {
	env := map[string]string{}
	if s.GPMHome != "" {
		env["GPM_HOME"] = s.GPMHome
	}
	if s.Path != "" {
		env["PATH"] = s.Path
	}
	return &winService{
		Name:        s.Name,
		DisplayName: "gpm process manager",
		Description: "Runs the gpm daemon, which starts its saved list of applications and keeps them running.",
		Executable:  s.Exe,
		Arguments:   []string{"daemon", "--resurrect"},
		UserName:    s.User,
		EnvVars:     env,
		Option: map[string]any{
			"StartType":              "automatic",
			"DelayedAutoStart":       false,
			"OnFailure":              "restart",
			"OnFailureDelayDuration": Recovery[0].Delay.String(),
			"OnFailureResetPeriod":   int(RecoveryResetPeriod / time.Second),
		},
	}
}

// registration is what the service control manager holds for the service, as far as gpm sets it: what Install
// compares with the service already there, so that it changes only what differs.
type registration struct {
	CommandLine  string // the image path: the quoted executable, then the arguments
	DisplayName  string
	Description  string
	StartType    string // "automatic", "delayed" (automatic, after the other automatic ones), "manual", "disabled"
	Account      string // the account the service runs as; LocalSystem when none is given
	Env          []string
	Recovery     []time.Duration // restart delays after the 1st, 2nd and later failures
	ResetPeriod  time.Duration
	OnNonCrashes bool // the recovery actions apply when the service stops with an error, not only when it crashes
}

// wantRegistration is what installing c registers, with gpm's recovery schedule; exe is c.Executable made absolute
// (as kardianos does).
func wantRegistration(c *winService, exe string) registration {
	r := registration{
		CommandLine:  commandLine(exe, c.Arguments),
		DisplayName:  c.DisplayName,
		Description:  c.Description,
		StartType:    "automatic",
		Account:      c.UserName,
		ResetPeriod:  RecoveryResetPeriod,
		OnNonCrashes: true,
	}
	if r.Account == "" {
		r.Account = "LocalSystem"
	}
	for k, v := range c.EnvVars {
		r.Env = append(r.Env, k+"="+v)
	}
	slices.Sort(r.Env) // as serviceEnv reads them
	for _, a := range Recovery {
		r.Recovery = append(r.Recovery, a.Delay)
	}
	return r
}

// diff names what differs between the registration r and the wanted one.
func (r *registration) diff(want *registration) []string {
	var d []string
	add := func(differs bool, what string) {
		if differs {
			d = append(d, what)
		}
	}
	add(!strings.EqualFold(r.CommandLine, want.CommandLine), "command line")
	add(r.DisplayName != want.DisplayName, "display name")
	add(r.Description != want.Description, "description")
	add(r.StartType != want.StartType, "start type")
	add(!strings.EqualFold(r.Account, want.Account), "account")
	add(!slices.Equal(r.Env, want.Env), "environment")
	add(!slices.Equal(r.Recovery, want.Recovery) || r.ResetPeriod != want.ResetPeriod || r.OnNonCrashes != want.OnNonCrashes,
		"recovery actions")
	return d
}

// commandLine is the image path CreateService registers for exe and args: each quoted as the Windows C runtime
// parses a command line (what syscall.EscapeArg does on Windows, written out here so that --print shows it on
// every OS).
func commandLine(exe string, args []string) string {
	parts := make([]string, 0, 1+len(args))
	for _, a := range append([]string{exe}, args...) {
		parts = append(parts, escapeArg(a))
	}
	return strings.Join(parts, " ")
}

// escapeArg is syscall.EscapeArg of Windows: s as is when it needs nothing, quoted when it has a space or a tab,
// with a backslash before each quote and the backslashes that precede one (or the closing quote) doubled.
func escapeArg(s string) string {
	if s == "" {
		return `""`
	}
	quote := strings.ContainsAny(s, " \t")
	if !strings.ContainsAny(s, `"\`) {
		if quote {
			return `"` + s + `"`
		}
		return s
	}
	var b strings.Builder
	if quote {
		b.WriteByte('"')
	}
	slashes := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			slashes++
		case '"':
			b.WriteString(strings.Repeat(`\`, slashes+1))
			slashes = 0
		default:
			slashes = 0
		}
		b.WriteByte(s[i])
	}
	if quote {
		b.WriteString(strings.Repeat(`\`, slashes))
		b.WriteByte('"')
	}
	return b.String()
}

func renderWindows(s *Spec) ([]File, error) {
	c := windowsConfig(s)
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Windows service %q, registered with the service control manager by kardianos/service.\n", c.Name)
	fmt.Fprintf(&b, "Name:        %s\nDisplayName: %s\nDescription: %s\n", c.Name, c.DisplayName, c.Description)
	fmt.Fprintf(&b, "Executable:  %s\nArguments:   %s\n", c.Executable, strings.Join(c.Arguments, " "))
	fmt.Fprintf(&b, "CommandLine: %s\n", commandLine(c.Executable, c.Arguments))
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
	fmt.Fprintf(&b, "Recovery:    %s, also when the daemon exits with an error; failure count reset after %s up\n",
		strings.Join(steps, ", "), RecoveryResetPeriod)
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
