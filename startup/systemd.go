package startup

import (
	"bytes"
	"fmt"
	"github.com/gpmd/gpm/internal/unitfile"
	"path/filepath"
	"sync"
	"text/template"
)

// unitTmpl is gpm's service unit. The comments in it go into the written file: they are for the administrator who
// opens it. Keep init/gpm.service and init/gpm-user.service in sync with it: TestInitFilesMatchRender compares them.
// The templates are parsed on first use, not at package init: every CLI call would pay for them (~0.2 ms).
var unitTmpl = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("unit").Funcs(template.FuncMap{"exec": unitfile.ExecLine, "env": func(k, v string) string { return unitfile.EnvLine(k, unitfile.EscapeSpecifiers(v)) }}).Parse(
		`# {{.Name}}.service: the gpm daemon{{if eq .Mode.String "global"}} for the whole machine (gpm --system){{else if .User}} of user {{.User}}{{end}}.
# Written by ` + "`gpm startup`" + `; ` + "`gpm unstartup`" + ` removes it. Change settings with ` + "`systemctl {{if eq .Mode.String \"user\"}}--user {{end}}edit {{.Name}}`" + `:
# drop-ins survive the next ` + "`gpm startup`" + `.
[Unit]
Description=gpm process manager{{if eq .Mode.String "global"}} (system daemon){{else if .User}} ({{.User}}){{end}}
Documentation=man:gpm(1)
{{- if eq .Mode.String "global"}}
Requires={{.Name}}.socket
After={{.Name}}.socket network.target
{{- else if eq .Mode.String "system"}}
After=network.target
{{- end}}
{{- if .WaitOnline}}
Wants=network-online.target
After=network-online.target
{{- end}}
StartLimitIntervalSec=60s
StartLimitBurst=10

[Service]
# The daemon says READY=1 once the saved list is resurrected, and only it may speak for the service (apps get a
# NOTIFY_SOCKET of gpm's own). No PIDFile=: systemd knows the main pid.
Type=notify
NotifyAccess=main
{{- if and (eq .Mode.String "system") .User}}
User={{.User}}
{{- end}}
{{- if and (eq .Mode.String "system") .Home}}
{{env "HOME" .Home}}
{{- end}}
{{- if .GPMHome}}
{{env "GPM_HOME" .GPMHome}}
{{- end}}
{{- if .Path}}
{{env "PATH" .Path}}
{{- end}}
{{- if eq .Mode.String "global"}}
StateDirectory=gpm
StateDirectoryMode=0700
ExecStart={{exec .Exe "--system" "daemon" "--resurrect"}}
# A zero-downtime reload of every app: each new worker is ready before the old one stops.
ExecReload={{exec .Exe "--system" "reload" "all"}}
{{- else}}
ExecStart={{exec .Exe "daemon" "--resurrect"}}
# A zero-downtime reload of every app: each new worker is ready before the old one stops.
ExecReload={{exec .Exe "reload" "all"}}
{{- end}}
Restart=on-failure
RestartSec=1s
# The daemon pings from its supervision loop (every 15 s): a loop wedged for 30 s is aborted and restarted.
WatchdogSec=30s
# The apps' listening sockets are kept here, so a restart of the daemon (crash, watchdog, systemctl restart)
# refuses no connection: the next daemon takes them back.
FileDescriptorStoreMax=128
{{- if .FDStorePreserve}}
FileDescriptorStorePreserve=yes
{{- else}}
# FileDescriptorStorePreserve=yes (systemd >= 254) would keep them across a stop and a start too.
{{- end}}
# mixed: SIGTERM goes to the daemon alone, which stops each app its own way (its kill_signal, then SIGKILL after
# its kill_timeout) and exits; then systemd SIGKILLs whatever is left. control-group (the default) would SIGTERM
# every app at once behind the daemon's back (it would see crashes, and kill_signal would be ignored); process
# would leave leftovers running.
KillMode=mixed
# The service's cgroup is gpm's to divide: the daemon moves into <cgroup>/daemon and runs each app process in
# <cgroup>/app-<name>-<id>, so that a stop reaches all of an app's tree (cgroup.kill), its memory and cpu are
# those of the whole tree, and memory_max, cpu_quota and tasks_max can apply. Without it gpm falls back to
# process groups (gpm describe says which).
Delegate=yes
LimitNOFILE={{.LimitNOFILE}}

[Install]
{{- if eq .Mode.String "user"}}
WantedBy=default.target
{{- else}}
WantedBy=multi-user.target
{{- end}}
{{- if eq .Mode.String "global"}}
Also={{.Name}}.socket
{{- end}}
`))
})

// socketTmpl is the system daemon's control socket. FileDescriptorName must stay service.ControlFDName.
var socketTmpl = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("socket").Parse(
		`# {{.Name}}.socket: the control socket of the gpm system daemon. systemd holds it, so the first ` + "`gpm --system`" + `
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
`))
})

// Static files of the system daemon: the gpm group, and /run/gpm reachable by it alone.
const (
	sysusersConf = "# The group whose members may use the gpm system daemon's control socket (/run/gpm/gpm.sock).\ng gpm - -\n"
	tmpfilesConf = "# The gpm system daemon's runtime directory: its control socket lives here (gpm.socket).\nd /run/gpm 0750 root gpm -\n"
)

// unitData is what the unit template sees.
type unitData struct {
	*Spec
	LimitNOFILE int
}

func renderSystemd(s *Spec) ([]File, error) {
	unit, err := execTmpl(unitTmpl(), unitData{s, s.limitNOFILE()})
	if err != nil {
		return nil, err
	}
	switch s.Mode {
	case User:
		return []File{{Path: filepath.Join(s.Home, ".config/systemd/user", s.Name+".service"), Data: unit, Mode: 0o644, Doc: "systemd user unit"}}, nil
	case System:
		return []File{{Path: "/etc/systemd/system/" + s.Name + ".service", Data: unit, Mode: 0o644, Doc: "systemd unit"}}, nil
	}
	sock, err := execTmpl(socketTmpl(), s)
	if err != nil {
		return nil, err
	}
	return []File{
		{Path: "/etc/sysusers.d/gpm.conf", Data: []byte(sysusersConf), Mode: 0o644, Doc: "sysusers.d: group gpm"},
		{Path: "/etc/tmpfiles.d/gpm.conf", Data: []byte(tmpfilesConf), Mode: 0o644, Doc: "tmpfiles.d: /run/gpm"},
		{Path: "/etc/systemd/system/" + s.Name + ".socket", Data: sock, Mode: 0o644, Doc: "systemd socket unit"},
		{Path: "/etc/systemd/system/" + s.Name + ".service", Data: unit, Mode: 0o644, Doc: "systemd unit"},
	}, nil
}

func execTmpl(t *template.Template, data any) ([]byte, error) {
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		return nil, fmt.Errorf("startup: render %s: %w", t.Name(), err)
	}
	return b.Bytes(), nil
}

// unitNames are the units to enable and start for s: the service, and for the system daemon its socket first.
func unitNames(s *Spec) []string {
	if s.Mode == Global {
		return []string{s.Name + ".socket", s.Name + ".service"}
	}
	return []string{s.Name + ".service"}
}
