package startup

import (
	"path/filepath"
	"strconv"
	"strings"

	"github.com/gpmd/gpm/internal/unitfile"
)

// renderUnit is gpm's service unit. The comments in it go into the written file: they are for the administrator
// who opens it. Keep init/gpm.service and init/gpm-user.service in sync with it: TestInitFilesMatchRender compares
// them. Written as plain Go rather than a text/template: a template's reflective method calls keep every exported
// method of every type in the binary (1.5 MB of the CLI, which links this package), and its parse ran on each call.
func renderUnit(s *Spec) []byte {
	global, system, user := s.Mode == Global, s.Mode == System, s.Mode == User
	var b strings.Builder
	line := func(parts ...string) {
		for _, p := range parts {
			b.WriteString(p)
		}
		b.WriteByte('\n')
	}
	who := ""
	switch {
	case global:
		who = " for the whole machine (gpm --system)"
	case s.User != "":
		who = " of user " + s.User
	}
	line("# ", s.Name, ".service: the gpm daemon", who, ".")
	userFlag := ""
	if user {
		userFlag = "--user "
	}
	line("# Written by `gpm startup`; `gpm unstartup` removes it. Change settings with `systemctl ", userFlag, "edit ", s.Name, "`:")
	line("# drop-ins survive the next `gpm startup`.")
	line("[Unit]")
	desc := ""
	switch {
	case global:
		desc = " (system daemon)"
	case s.User != "":
		desc = " (" + s.User + ")"
	}
	line("Description=gpm process manager", desc)
	line("Documentation=man:gpm(1)")
	switch {
	case global:
		line("Requires=", s.Name, ".socket")
		line("After=", s.Name, ".socket network.target")
	case system:
		line("After=network.target")
	}
	if s.WaitOnline {
		line("Wants=network-online.target")
		line("After=network-online.target")
	}
	line("StartLimitIntervalSec=60s")
	line("StartLimitBurst=10")
	line()
	line("[Service]")
	line("# The daemon says READY=1 once the saved list is resurrected, and only it may speak for the service (apps get a")
	line("# NOTIFY_SOCKET of gpm's own). No PIDFile=: systemd knows the main pid.")
	line("Type=notify")
	line("NotifyAccess=main")
	if system && s.User != "" {
		line("User=", s.User)
	}
	if system && s.Home != "" {
		line(unitfile.EnvLine("HOME", unitfile.EscapeSpecifiers(s.Home)))
	}
	if s.GPMHome != "" {
		line(unitfile.EnvLine("GPM_HOME", unitfile.EscapeSpecifiers(s.GPMHome)))
	}
	if s.Path != "" {
		line(unitfile.EnvLine("PATH", unitfile.EscapeSpecifiers(s.Path)))
	}
	if global {
		line("StateDirectory=gpm")
		line("StateDirectoryMode=0700")
		line("ExecStart=", unitfile.ExecLine(s.Exe, "--system", "daemon", "--resurrect"))
		line("# A zero-downtime reload of every app: each new worker is ready before the old one stops.")
		line("ExecReload=", unitfile.ExecLine(s.Exe, "--system", "reload", "all"))
	} else {
		line("ExecStart=", unitfile.ExecLine(s.Exe, "daemon", "--resurrect"))
		line("# A zero-downtime reload of every app: each new worker is ready before the old one stops.")
		line("ExecReload=", unitfile.ExecLine(s.Exe, "reload", "all"))
	}
	line(`Restart=on-failure
RestartSec=1s
# The daemon pings from its supervision loop (every 15 s): a loop wedged for 30 s is aborted and restarted.
WatchdogSec=30s
# The apps' listening sockets are kept here, so a restart of the daemon (crash, watchdog, systemctl restart)
# refuses no connection: the next daemon takes them back.
FileDescriptorStoreMax=128`)
	if s.FDStorePreserve {
		line("FileDescriptorStorePreserve=yes")
	} else {
		line("# FileDescriptorStorePreserve=yes (systemd >= 254) would keep them across a stop and a start too.")
	}
	line(`# mixed: SIGTERM goes to the daemon alone, which stops each app its own way (its kill_signal, then SIGKILL after
# its kill_timeout) and exits; then systemd SIGKILLs whatever is left. control-group (the default) would SIGTERM
# every app at once behind the daemon's back (it would see crashes, and kill_signal would be ignored); process
# would leave leftovers running.
KillMode=mixed
# The service's cgroup is gpm's to divide: the daemon moves into <cgroup>/daemon and runs each app process in
# <cgroup>/app-<name>-<id>, so that a stop reaches all of an app's tree (cgroup.kill), its memory and cpu are
# those of the whole tree, and memory_max, cpu_quota and tasks_max can apply. Without it gpm falls back to
# process groups (gpm describe says which).
Delegate=yes`)
	line("LimitNOFILE=", strconv.Itoa(s.limitNOFILE()))
	line()
	line("[Install]")
	if user {
		line("WantedBy=default.target")
	} else {
		line("WantedBy=multi-user.target")
	}
	if global {
		line("Also=", s.Name, ".socket")
	}
	return []byte(b.String())
}

// renderSocket is the system daemon's control socket. FileDescriptorName must stay service.ControlFDName.
func renderSocket(s *Spec) []byte {
	return []byte("# " + s.Name + ".socket: the control socket of the gpm system daemon. systemd holds it, so the first `gpm --system`" + `
# command starts the daemon; root and the members of group gpm may connect (the daemon admits whoever the
# socket's mode lets in, so membership of gpm is root-equivalent, like the docker group).
[Unit]
Description=gpm control socket (system daemon)
Documentation=man:gpm(1)

[Socket]
ListenStream=/run/gpm/gpm.sock
SocketUser=root
SocketGroup=gpm
SocketMode=0660
FileDescriptorName=gpm-control
RemoveOnStop=yes

[Install]
WantedBy=sockets.target
`)
}

// Static files of the system daemon: the gpm group, and /run/gpm reachable by it alone.
const (
	sysusersConf = "# The group whose members may use the gpm system daemon's control socket (/run/gpm/gpm.sock).\ng gpm - -\n"
	tmpfilesConf = "# The gpm system daemon's runtime directory: its control socket lives here (gpm.socket).\nd /run/gpm 0750 root gpm -\n"
)

func renderSystemd(s *Spec) ([]File, error) {
	unit := renderUnit(s)
	switch s.Mode {
	case User:
		return []File{{Path: filepath.Join(s.Home, ".config/systemd/user", s.Name+".service"), Data: unit, Mode: 0o644, Doc: "systemd user unit"}}, nil
	case System:
		return []File{{Path: "/etc/systemd/system/" + s.Name + ".service", Data: unit, Mode: 0o644, Doc: "systemd unit"}}, nil
	}
	sock := renderSocket(s)
	return []File{
		{Path: "/etc/sysusers.d/gpm.conf", Data: []byte(sysusersConf), Mode: 0o644, Doc: "sysusers.d: group gpm"},
		{Path: "/etc/tmpfiles.d/gpm.conf", Data: []byte(tmpfilesConf), Mode: 0o644, Doc: "tmpfiles.d: /run/gpm"},
		{Path: "/etc/systemd/system/" + s.Name + ".socket", Data: sock, Mode: 0o644, Doc: "systemd socket unit"},
		{Path: "/etc/systemd/system/" + s.Name + ".service", Data: unit, Mode: 0o644, Doc: "systemd unit"},
	}, nil
}

// unitNames are the units to enable and start for s: the service, and for the system daemon its socket first.
func unitNames(s *Spec) []string {
	if s.Mode == Global {
		return []string{s.Name + ".socket", s.Name + ".service"}
	}
	return []string{s.Name + ".service"}
}
