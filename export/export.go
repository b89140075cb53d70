// Package export renders gpm apps as the native configuration of another supervisor: systemd units, Kubernetes
// manifests, a Nomad job. What an app's configuration says that the target cannot is named in a comment (systemd,
// Kubernetes) or left out and listed by Unsupported, never silently changed.
package export

import (
	"errors"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/gpmd/gpm/activation"
	"github.com/gpmd/gpm/config"
)

// File is one rendered file: its name (no directory) and content.
type File struct {
	Name string
	Data []byte
}

// Options tune the renderers.
type Options struct {
	// Image is the container image of the Kubernetes and Nomad exports; "" means "NAME:latest" for each app. The
	// image must hold gpm (on PATH) and the app at its cwd (examples/Dockerfile).
	Image string
	// LookPath resolves an interpreter to an absolute path for ExecStart= (systemd wants one to check the unit);
	// nil means exec.LookPath. A name it cannot resolve is kept as it is (systemd looks in its own PATH).
	LookPath func(string) (string, error)
}

// Formats are the targets Render knows, by the name `gpm export` takes.
var Formats = map[string]func([]config.App, Options) ([]File, error){
	"systemd":    Systemd,
	"kubernetes": Kubernetes,
	"nomad":      Nomad,
}

// ErrNoApps is returned by every renderer given no app.
var ErrNoApps = errors.New("export: no app to export")

// Apps keeps one configuration per app name, in the order first seen: a daemon's list has one record per
// instance, each with the app's whole configuration.
func Apps(list []config.App) []config.App {
	var out []config.App
	for _, a := range list {
		if !slices.ContainsFunc(out, func(b config.App) bool { return b.Name == a.Name }) {
			out = append(out, a)
		}
	}
	return out
}

// argv is the command line the daemon runs for a (service/proc.go command), the interpreter resolved with look.
func argv(a *config.App, look func(string) (string, error)) []string {
	if a.Interpreter == "" {
		return append([]string{a.Script}, a.Args...)
	}
	interp := a.Interpreter
	if !filepath.IsAbs(interp) {
		if look == nil {
			look = exec.LookPath
		}
		if p, err := look(interp); err == nil && filepath.IsAbs(p) {
			interp = p
		}
	}
	return append(append(append([]string{interp}, a.InterpreterArgs...), a.Script), a.Args...)
}

// port is one network socket of an app's listen, as the targets publish it.
type port struct {
	Name     string // a DNS label: the spec's name when it is one, else "p<port>"
	Protocol string // "TCP" or "UDP"
	Host     string
	Port     int
	Spec     activation.Spec
}

// ports parses a's listen into its network sockets; unix sockets and systemd: names are returned apart.
func ports(a *config.App) (inet []port, other []activation.Spec, err error) {
	for _, l := range a.Listen {
		s, err := activation.ParseSpec(l)
		if err != nil {
			return nil, nil, fmt.Errorf("export %s: %w", a.Name, err)
		}
		proto := ""
		switch s.Network {
		case "tcp", "tcp4", "tcp6":
			proto = "TCP"
		case "udp", "udp4", "udp6":
			proto = "UDP"
		default:
			other = append(other, s)
			continue
		}
		host, p, err := net.SplitHostPort(s.Address)
		n, perr := strconv.Atoi(p)
		if err != nil || perr != nil || n <= 0 || n > 65535 {
			return nil, nil, fmt.Errorf("export %s: listen %q: a fixed port is needed (not 0)", a.Name, l)
		}
		name := s.Name
		if !dnsLabel(name) || len(name) > 15 {
			name = fmt.Sprintf("p%d", n)
		}
		inet = append(inet, port{Name: name, Protocol: proto, Host: host, Port: n, Spec: s})
	}
	return inet, other, nil
}

// dnsLabel reports whether s is an RFC 1123 label, what Kubernetes names (and port names) must be.
func dnsLabel(s string) bool {
	if s == "" || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

// k8sName turns an app name into an RFC 1123 label: lower case, other characters as '-'.
func k8sName(name string) string {
	b := []byte(strings.ToLower(name))
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			b[i] = '-'
		}
	}
	s := strings.Trim(string(b), "-")
	if len(s) > 63 {
		s = strings.TrimRight(s[:63], "-")
	}
	if s == "" {
		s = "app"
	}
	return s
}

// sortedKeys returns m's keys in order: exports are golden-tested and diffed.
func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// unsupported lists what a's configuration asks for that no export carries over (gpm's own features).
func unsupported(a *config.App) []string {
	var out []string
	if a.CronRestart != "" {
		out = append(out, "cron_restart "+a.CronRestart)
	}
	if len(a.Watch) > 0 {
		out = append(out, "watch")
	}
	if a.OutFile != "" || a.ErrorFile != "" || a.LogFile != "" {
		out = append(out, "log files (the output goes to the target's own log)")
	}
	if a.ShutdownWithMessage {
		out = append(out, "shutdown_with_message")
	}
	return out
}
