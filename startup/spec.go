// Package startup makes the gpm daemon an OS service that starts at boot and brings its saved list back: a systemd
// unit (system, per-user, or the machine's system daemon with its gpm.socket), a launchd plist, or a Windows service.
//
// It renders what it installs itself (plain Go that writes the text), because kardianos/service's built-in systemd
// unit is unfit for gpm (no Type=notify, RestartSec=120, a user unit's WantedBy=multi-user.target that never fires,
// no socket unit) and its Install is not idempotent (it fails when the file exists and never starts the service).
// The rendered text is what --print shows and golden files pin; Install compares it with what is on disk, writes
// atomically only what differs, and runs the service manager's own commands (daemon-reload, enable --now, loginctl
// enable-linger, launchctl bootstrap). kardianos/service is used where it
// helps, for the Windows service control manager, which has no file to render (see windows.go).
//
// Every command Install and Uninstall run goes through a Runner, and every file through a root prefix, so a test
// drives them without an init system; e2e/systemd runs them for real under systemd in a container.
package startup

import (
	"fmt"
	"path/filepath"
	"strings"
)

// Platform is a service manager.
type Platform string

// The service managers gpm installs into.
const (
	Systemd Platform = "systemd"
	Launchd Platform = "launchd"
	Windows Platform = "windows"
)

// Mode says whose daemon the service runs and which service manager instance runs it.
type Mode int

const (
	// System is a system service running the daemon of one user (Spec.User, Spec.Home, Spec.GPMHome), started at
	// boot: PM2's `pm2 startup`. It needs root to install.
	System Mode = iota
	// User is a service of the user's own service manager (systemd --user with lingering, a LaunchAgent).
	User
	// Global is the machine's system daemon (gpm --system): GPM_HOME /var/lib/gpm, control socket
	// /run/gpm/gpm.sock held by gpm.socket for root and group gpm. systemd only; the .deb and .rpm ship it.
	Global
)

func (m Mode) String() string {
	switch m {
	case System:
		return "system"
	case User:
		return "user"
	case Global:
		return "global"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// Spec is one service to install.
type Spec struct {
	Platform Platform
	Mode     Mode
	// Name is the service's name: the unit name without ".service", the launchd Label, the Windows service name.
	// DefaultName gives the usual one.
	Name string
	// Exe is the absolute path of the gpm binary the service runs.
	Exe string
	// User is the account the daemon runs as (System mode; User mode for the lingering). "" runs it as the service
	// manager's default (root, LocalSystem).
	User string
	// UID is User's uid (launchd's gui/<uid> domain).
	UID int
	// Home is User's home directory, given to the daemon as HOME.
	Home string
	// GPMHome is the daemon's GPM_HOME; "" leaves it to the daemon's default (~/.gpm, or /var/lib/gpm in Global).
	GPMHome string
	// Path is the PATH the daemon and its apps get (the one of the shell that ran gpm startup, as PM2 does, so
	// that interpreters found there are found at boot); "" leaves the service manager's default.
	Path string
	// LimitNOFILE is the open-files limit of the daemon and its apps; 0 means 65536.
	LimitNOFILE int
	// FDStorePreserve adds FileDescriptorStorePreserve=yes, which keeps the fd store across a stop and a start,
	// not only across a restart. It needs systemd 254 or newer (older ones warn about an unknown key).
	FDStorePreserve bool
	// WaitOnline starts the daemon once the network is online (PM2's --wait-ip; systemd's network-online.target).
	WaitOnline bool
}

// DefaultName is the service name gpm uses when none is given: gpm-USER for a system service (PM2's pm2-USER; it
// does not shadow the packaged gpm.service), gpm for a user service and the system daemon; launchd labels are
// reverse-DNS.
func DefaultName(p Platform, m Mode, user string) string {
	switch {
	case p == Launchd && m == System:
		return "io.gpm." + user
	case p == Launchd:
		return "io.gpm"
	case p == Windows:
		return "gpm"
	case m == System && user != "":
		return "gpm-" + user
	}
	return "gpm"
}

// check rejects a spec that cannot be rendered.
func (s *Spec) check() error {
	switch s.Platform {
	case Systemd, Launchd, Windows:
	default:
		return fmt.Errorf("startup: unknown platform %q (systemd, launchd or windows)", s.Platform)
	}
	if s.Mode == Global && s.Platform != Systemd {
		return fmt.Errorf("startup: the system daemon (--system) is a systemd service; %s has none", s.Platform)
	}
	if s.Mode == User && s.Platform == Windows {
		return fmt.Errorf("startup: Windows has no per-user services; install a system service")
	}
	if s.Name == "" || strings.ContainsAny(s.Name, "/\\ \t\n") {
		return fmt.Errorf("startup: bad service name %q", s.Name)
	}
	if s.Exe == "" || !(filepath.IsAbs(s.Exe) || s.Platform == Windows) {
		return fmt.Errorf("startup: the gpm binary must be an absolute path, not %q", s.Exe)
	}
	if s.Mode == User && s.Home == "" {
		return fmt.Errorf("startup: a user service needs the user's home directory")
	}
	return nil
}

func (s *Spec) limitNOFILE() int {
	if s.LimitNOFILE > 0 {
		return s.LimitNOFILE
	}
	return 65536
}

// File is one file that installing a Spec writes. Path is absolute; for a Windows service, which is registered
// with the service control manager rather than written, Path is "" and Data describes the registration.
type File struct {
	Path string
	Data []byte
	Mode uint32
	// Doc says in a few words what the file is, for --print and the report.
	Doc string
}

// Render returns what installing s writes, without touching anything.
func Render(s Spec) ([]File, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	switch s.Platform {
	case Systemd:
		return renderSystemd(&s)
	case Launchd:
		return renderLaunchd(&s)
	default:
		return renderWindows(&s)
	}
}
