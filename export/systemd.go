package export

import (
	"bytes"
	"fmt"
	"github.com/gpmd/gpm/internal/unitfile"
	"strconv"
	"strings"
	"time"

	"github.com/gpmd/gpm/activation"
	"github.com/gpmd/gpm/config"
)

// Systemd renders, for each app, a native service unit NAME.service, or the template NAME@.service when it has
// more than one instance (instance i is NAME@i.service, its instance_var is %i), and for an app with listen one
// socket unit per address, NAME.socket (then NAME-1.socket, ...): systemd binds the address and hands the socket
// to the app in LISTEN_FDS, as gpm does, so the app runs unchanged. Every instance of a template lists the socket
// units in Sockets=: they all accept on the one socket, as gpm's cluster workers do, and a restart of one leaves
// the others and the kernel's queue in place. Traffic arriving while no instance runs starts NAME@0 (Service=).
func Systemd(apps []config.App, o Options) ([]File, error) {
	if len(apps) == 0 {
		return nil, ErrNoApps
	}
	var files []File
	for _, a := range Apps(apps) {
		fs, err := systemdApp(&a, o)
		if err != nil {
			return nil, err
		}
		files = append(files, fs...)
	}
	return files, nil
}

func systemdApp(a *config.App, o Options) ([]File, error) {
	name := unitEscape(a.Name)
	template := a.Instances > 1
	service := name + ".service"
	if template {
		service = name + "@.service"
	}
	inet, other, err := ports(a)
	if err != nil {
		return nil, err
	}
	// Values written as they are (no quoting: systemd reads these settings to the end of the line) must not hold a
	// line break, which would end the setting and start a directive of the value's own.
	fields := [][2]string{{"cwd", a.Cwd}, {"uid", a.User}, {"gid", a.Group}}
	for _, s := range other {
		fields = append(fields, [2]string{"listen", s.Address})
	}
	for _, f := range fields {
		if strings.ContainsAny(f[1], "\n\r") {
			return nil, fmt.Errorf("export %s: %s %q: a systemd unit cannot hold a line break in a value", a.Name, f[0], f[1])
		}
	}
	// One socket unit per address: FileDescriptorName= names every fd of its unit.
	type sock struct {
		unit, listen, fdname string
		datagram             bool
	}
	var socks []sock
	add := func(s activation.Spec, listen string, datagram bool) {
		unit := name + ".socket"
		if len(socks) > 0 {
			unit = fmt.Sprintf("%s-%d.socket", name, len(socks))
		}
		socks = append(socks, sock{unit: unit, listen: listen, fdname: s.Name, datagram: datagram})
	}
	for _, p := range inet {
		listen := strconv.Itoa(p.Port) // an empty host: every address, IPv4 and IPv6
		if p.Host != "" {
			listen = p.Spec.Address
		}
		add(p.Spec, listen, p.Protocol == "UDP")
	}
	var notes []string
	for _, s := range other {
		if s.Network == "unix" {
			add(s, s.Address, false)
			continue
		}
		notes = append(notes, fmt.Sprintf("listen %s: the socket unit that has FileDescriptorName=%s is yours to list in Sockets=", s, s.Address))
	}

	var b bytes.Buffer
	fmt.Fprintf(&b, "# %s: exported by gpm export systemd from the app %q.\n", service, a.Name)
	if template {
		fmt.Fprintf(&b, "# %d instances: systemctl enable --now %s@{0..%d}.service\n", a.Instances, name, a.Instances-1)
	}
	for _, u := range unsupported(a) {
		fmt.Fprintf(&b, "# Not carried over: %s.\n", u)
	}
	if a.MaxMemoryRestart > 0 {
		fmt.Fprintf(&b, "# Not carried over: max_memory_restart %d (systemd has no restart on memory; MemoryMax= is a hard limit).\n", a.MaxMemoryRestart)
	}
	for _, n := range notes {
		fmt.Fprintf(&b, "# %s.\n", n)
	}
	b.WriteString("\n[Unit]\n")
	fmt.Fprintf(&b, "Description=%s (exported from gpm)\n", strings.ReplaceAll(a.Name, "%", "%%"))
	after := "network.target"
	if len(socks) > 0 {
		var units []string
		for _, s := range socks {
			units = append(units, s.unit)
		}
		fmt.Fprintf(&b, "Requires=%s\n", strings.Join(units, " "))
		after += " " + strings.Join(units, " ")
	}
	fmt.Fprintf(&b, "After=%s\n", after)
	if a.Autorestart && a.MaxRestarts > 0 && a.MinUptime > 0 {
		// gpm counts exits within min_uptime of a start, max_restarts of them make the app errored; systemd
		// counts starts within an interval: the interval of max_restarts starts each min_uptime long.
		fmt.Fprintf(&b, "StartLimitIntervalSec=%s\n", duration(time.Duration(a.MaxRestarts)*a.MinUptime.D()))
		fmt.Fprintf(&b, "StartLimitBurst=%d\n", a.MaxRestarts)
	}

	b.WriteString("\n[Service]\n")
	if a.WaitReady {
		b.WriteString("Type=notify\n")
		// gpm takes READY=1 from the app's process or any descendant (a shell script's child).
		b.WriteString("NotifyAccess=all\n")
	} else {
		b.WriteString("Type=exec\n")
	}
	fmt.Fprintf(&b, "ExecStart=%s\n", unitfile.ExecLine(argv(a, o.LookPath)...))
	// systemd resolves specifiers (%) in these settings, as in most: each is escaped.
	fmt.Fprintf(&b, "WorkingDirectory=%s\n", unitfile.EscapeSpecifiers(a.Cwd))
	if a.User != "" {
		fmt.Fprintf(&b, "User=%s\n", unitfile.EscapeSpecifiers(a.User))
	}
	if a.Group != "" {
		fmt.Fprintf(&b, "Group=%s\n", unitfile.EscapeSpecifiers(a.Group))
	}
	env := map[string]string{}
	for k, v := range a.Env {
		env[k] = v
	}
	if a.InstanceVar != "" {
		env[a.InstanceVar] = "0"
	}
	for _, k := range sortedKeys(env) {
		v := strings.ReplaceAll(env[k], "%", "%%")
		if template && k == a.InstanceVar {
			v = "%i"
		}
		b.WriteString(unitfile.EnvLine(k, v) + "\n")
	}
	for _, s := range socks {
		if template {
			fmt.Fprintf(&b, "Sockets=%s\n", s.unit)
		}
	}
	if a.Autorestart {
		b.WriteString("Restart=always\n")
		if a.RestartDelay > 0 {
			fmt.Fprintf(&b, "RestartSec=%s\n", duration(a.RestartDelay.D()))
		} else if a.ExpBackoffRestartDelay > 0 {
			fmt.Fprintf(&b, "RestartSec=%s\n", duration(a.ExpBackoffRestartDelay.D()))
		} else {
			b.WriteString("RestartSec=0\n") // gpm restarts at once; systemd's default waits 100 ms
		}
		if len(a.StopExitCodes) > 0 {
			codes := make([]string, len(a.StopExitCodes))
			for i, c := range a.StopExitCodes {
				codes[i] = strconv.Itoa(c)
			}
			fmt.Fprintf(&b, "RestartPreventExitStatus=%s\n", strings.Join(codes, " "))
		}
	} else {
		b.WriteString("Restart=no\n")
	}
	fmt.Fprintf(&b, "KillSignal=%s\n", config.SignalName(a.KillSignal))
	if a.NoTreekill {
		b.WriteString("KillMode=mixed\n") // the kill signal to the main process only, SIGKILL to the rest at the end
	}
	if a.KillTimeout > 0 {
		fmt.Fprintf(&b, "TimeoutStopSec=%s\n", duration(a.KillTimeout.D()))
	}
	if a.Watchdog > 0 {
		fmt.Fprintf(&b, "WatchdogSec=%s\n", duration(a.Watchdog.D()))
	}
	if a.MemoryMax > 0 {
		fmt.Fprintf(&b, "MemoryMax=%d\n", a.MemoryMax)
	}
	if a.CPUQuota > 0 {
		fmt.Fprintf(&b, "CPUQuota=%d%%\n", a.CPUQuota)
	}
	if a.TasksMax > 0 {
		fmt.Fprintf(&b, "TasksMax=%d\n", a.TasksMax)
	}
	b.WriteString("\n[Install]\nWantedBy=multi-user.target\n")
	files := []File{{Name: service, Data: b.Bytes()}}

	for _, s := range socks {
		var u bytes.Buffer
		fmt.Fprintf(&u, "# %s: exported by gpm export systemd from the app %q: systemd holds the socket, a restart refuses no connection.\n", s.unit, a.Name)
		fmt.Fprintf(&u, "\n[Unit]\nDescription=%s socket (exported from gpm)\n", strings.ReplaceAll(a.Name, "%", "%%"))
		u.WriteString("\n[Socket]\n")
		key := "ListenStream"
		if s.datagram {
			key = "ListenDatagram"
		}
		fmt.Fprintf(&u, "%s=%s\n", key, unitfile.EscapeSpecifiers(s.listen))
		if fdNameOK(s.fdname) {
			fmt.Fprintf(&u, "FileDescriptorName=%s\n", unitfile.EscapeSpecifiers(s.fdname))
		} else {
			// gpm names it by its address; systemd refuses ':' in a name: the app gets the unit's name instead.
			fmt.Fprintf(&u, "# LISTEN_FDNAMES was %q under gpm; systemd allows no ':' there: it is the unit's name.\n", s.fdname)
		}
		if template {
			fmt.Fprintf(&u, "Service=%s@0.service\n", name)
		}
		u.WriteString("\n[Install]\nWantedBy=sockets.target\n")
		files = append(files, File{Name: s.unit, Data: u.Bytes()})
	}
	return files, nil
}

// fdNameOK reports whether s is a valid FileDescriptorName= (systemd.socket(5): at most 255 printable ASCII
// characters, no ':').
func fdNameOK(s string) bool {
	if s == "" || len(s) > 255 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' || s[i] == ':' {
			return false
		}
	}
	return true
}

// unitEscape escapes an app name for a unit name as systemd-escape does: characters other than ASCII letters,
// digits, ':', '_' and '.' become \xNN; '-' stays (a name, not a path).
func unitEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == ':', c == '_', c == '-',
			c == '.' && i > 0:
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, `\x%02x`, c)
		}
	}
	return b.String()
}

// duration writes d for a systemd time setting ("1600ms", "2s", "0").
func duration(d time.Duration) string {
	switch {
	case d <= 0:
		return "0"
	case d%time.Second == 0:
		return fmt.Sprintf("%ds", d/time.Second)
	}
	return fmt.Sprintf("%dms", d/time.Millisecond)
}
