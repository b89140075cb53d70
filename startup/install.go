package startup

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/gpmd/gpm/api"
	"github.com/gpmd/gpm/client"
)

// Runner runs the service manager's commands (systemctl, loginctl, launchctl, systemd-sysusers). It returns the
// combined output; a non-zero exit is an error.
type Runner interface {
	Run(ctx context.Context, name string, args ...string) ([]byte, error)
}

// Exec is the Runner that runs the real commands.
type Exec struct{}

// Run runs name with args.
func (Exec) Run(ctx context.Context, name string, args ...string) ([]byte, error) {
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return out, nil
}

// Daemons finds and stops a daemon that runs outside the service manager, so that the service takes it over
// instead of fighting it for its GPM_HOME.
type Daemons interface {
	// PID returns the pid of the daemon answering for home, or 0 when none answers.
	PID(ctx context.Context, home string) (int, error)
	// SaveAndKill saves the daemon's list (an empty list leaves the saved one alone), then stops its apps and it.
	SaveAndKill(ctx context.Context, home string) error
}

// Clients is the Daemons that talks to daemons through the client package.
type Clients struct{}

// PID returns the pid of the daemon of home, or 0 when none runs.
func (Clients) PID(ctx context.Context, home string) (int, error) {
	c, err := client.Dial(ctx, home)
	if errors.Is(err, client.ErrNotRunning) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	defer c.Close()
	v, err := c.Version(ctx)
	if err != nil {
		return 0, err
	}
	return v.PID, nil
}

// SaveAndKill saves the list of the daemon of home, then kills it (its apps first).
func (Clients) SaveAndKill(ctx context.Context, home string) error {
	c, err := client.Dial(ctx, home)
	if err != nil {
		return err
	}
	defer c.Close()
	var ae *api.Error
	if _, err := c.Save(ctx, false); err != nil && !(errors.As(err, &ae) && ae.Code == api.CodeEmptyList) {
		return fmt.Errorf("save: %w", err)
	}
	if err := c.Kill(ctx); err != nil {
		return fmt.Errorf("kill: %w", err)
	}
	return nil
}

// Installer installs and removes services. Its zero value is not usable: set Runner and Daemons (Exec{} and
// Clients{} for the real thing).
type Installer struct {
	Runner  Runner
	Daemons Daemons
	// Out receives one line per file written or command run (and what was left alone); nil discards it.
	Out io.Writer
	// Root prefixes every file path read or written ("" is /); tests install into a temp dir with it.
	Root string
}

func (in *Installer) say(format string, args ...any) {
	if in.Out != nil {
		fmt.Fprintf(in.Out, format+"\n", args...)
	}
}

// run runs a command that changes something, and reports it.
func (in *Installer) run(ctx context.Context, name string, args ...string) error {
	in.say("ran: %s %s", name, strings.Join(args, " "))
	_, err := in.Runner.Run(ctx, name, args...)
	return err
}

// query runs a command that only looks; its output is trimmed. A failure is returned with the output.
func (in *Installer) query(ctx context.Context, name string, args ...string) (string, error) {
	out, err := in.Runner.Run(ctx, name, args...)
	return strings.TrimSpace(string(out)), err
}

func (in *Installer) path(p string) string { return filepath.Join(in.Root, p) }

// write puts f in place atomically (temp file, fsync, rename, fsync of the directory) when its content differs
// from what is there, and reports which. changed is false when the file already had this content and mode.
func (in *Installer) write(f File) (changed bool, err error) {
	p := in.path(f.Path)
	if old, err := os.ReadFile(p); err == nil && bytes.Equal(old, f.Data) {
		if st, err := os.Stat(p); err == nil && uint32(st.Mode().Perm()) == f.Mode {
			in.say("unchanged: %s (%s)", f.Path, f.Doc)
			return false, nil
		}
	}
	dir := filepath.Dir(p)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return false, fmt.Errorf("startup: %w", err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(p)+".tmp-*")
	if err != nil {
		return false, fmt.Errorf("startup: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(f.Data)
	if err == nil {
		err = tmp.Chmod(os.FileMode(f.Mode))
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), p)
	}
	if err != nil {
		return false, fmt.Errorf("startup: write %s: %w", f.Path, err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	in.say("wrote: %s (%s)", f.Path, f.Doc)
	return true, nil
}

// remove deletes a file that Install wrote; a missing one is fine.
func (in *Installer) remove(path string) (bool, error) {
	err := os.Remove(in.path(path))
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("startup: %w", err)
	}
	in.say("removed: %s", path)
	return true, nil
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

// Install makes s a running, enabled service, changing only what differs: running it twice changes nothing.
// A daemon already running for the same GPM_HOME outside the service manager is handed over: its list is saved,
// it stops, and the service resurrects the list.
func (in *Installer) Install(ctx context.Context, s Spec) error {
	files, err := Render(s)
	if err != nil {
		return err
	}
	switch s.Platform {
	case Systemd:
		return in.installSystemd(ctx, &s, files)
	case Launchd:
		return in.installLaunchd(ctx, &s, files)
	default:
		return in.installWindows(ctx, &s)
	}
}

// Uninstall stops and disables the service s and removes what Install wrote. Removing nothing is not an error.
// The saved list stays in GPM_HOME.
func (in *Installer) Uninstall(ctx context.Context, s Spec) error {
	files, err := Render(s)
	if err != nil {
		return err
	}
	switch s.Platform {
	case Systemd:
		return in.uninstallSystemd(ctx, &s, files)
	case Launchd:
		return in.uninstallLaunchd(ctx, &s, files)
	default:
		return in.uninstallWindows(ctx, &s)
	}
}

// packaged reports whether the .deb or .rpm installed the system daemon's units: then they are used, not copied
// into /etc (where they would shadow the package's own on its next upgrade).
func (in *Installer) packaged(s *Spec) (string, bool) {
	if s.Mode != Global || s.Name != "gpm" {
		return "", false
	}
	for _, d := range []string{"/usr/lib/systemd/system", "/lib/systemd/system"} {
		if exists(in.path(d+"/gpm.service")) && exists(in.path(d+"/gpm.socket")) {
			return d, true
		}
	}
	return "", false
}

func systemctl(s *Spec, args ...string) []string {
	if s.Mode == User {
		return append([]string{"--user"}, args...)
	}
	return args
}

// home is the GPM_HOME the service's daemon owns.
func home(s *Spec) string {
	if s.Mode == Global {
		return api.SystemHome
	}
	return s.GPMHome
}

func (in *Installer) installSystemd(ctx context.Context, s *Spec, files []File) error {
	if dir, ok := in.packaged(s); ok {
		in.say("using the packaged units %s/%s.{socket,service}", dir, s.Name)
		files = nil
	}
	changed := map[string]bool{}
	for _, f := range files {
		c, err := in.write(f)
		if err != nil {
			return err
		}
		changed[f.Path] = c
	}
	anyChanged := false
	for _, c := range changed {
		anyChanged = anyChanged || c
	}
	if changed["/etc/sysusers.d/gpm.conf"] {
		if err := in.run(ctx, "systemd-sysusers", "/etc/sysusers.d/gpm.conf"); err != nil {
			return err
		}
	}
	if changed["/etc/tmpfiles.d/gpm.conf"] {
		if err := in.run(ctx, "systemd-tmpfiles", "--create", "/etc/tmpfiles.d/gpm.conf"); err != nil {
			return err
		}
	}
	if anyChanged {
		if err := in.run(ctx, "systemctl", systemctl(s, "daemon-reload")...); err != nil {
			return err
		}
	}
	if s.Mode == User && s.User != "" {
		// Without lingering, a user's manager (and so the daemon) starts at login, not at boot, and stops at logout.
		if l, _ := in.query(ctx, "loginctl", "show-user", s.User, "--property=Linger", "--value"); l != "yes" {
			if err := in.run(ctx, "loginctl", "enable-linger", s.User); err != nil {
				return err
			}
		}
	}
	units := unitNames(s)
	service := units[len(units)-1]
	if err := in.handover(ctx, s, func() int {
		pid, _ := in.query(ctx, "systemctl", systemctl(s, "show", "--property=MainPID", "--value", service)...)
		n, _ := strconv.Atoi(pid)
		return n
	}); err != nil {
		return err
	}
	ready := true
	for _, u := range units {
		if st, _ := in.query(ctx, "systemctl", systemctl(s, "is-enabled", u)...); st != "enabled" {
			ready = false
		}
	}
	if st, _ := in.query(ctx, "systemctl", systemctl(s, "is-active", service)...); st != "active" {
		ready = false
	}
	switch {
	case !ready:
		return in.run(ctx, "systemctl", systemctl(s, append([]string{"enable", "--now"}, units...)...)...)
	case anyChanged:
		in.say("note: %s runs with its old settings until: systemctl %srestart %s", service, map[bool]string{true: "--user "}[s.Mode == User], service)
	default:
		in.say("nothing to do: %s is enabled and running", strings.Join(units, " and "))
	}
	return nil
}

// handover stops a daemon of the service's GPM_HOME that the service manager did not start (mainPID says which
// pid it runs, 0 for none), after saving its list, so that the service starts and resurrects it.
func (in *Installer) handover(ctx context.Context, s *Spec, mainPID func() int) error {
	h := home(s)
	if h == "" || in.Daemons == nil {
		return nil
	}
	pid, err := in.Daemons.PID(ctx, h)
	if err != nil {
		return fmt.Errorf("startup: look for a running daemon of %s: %w", h, err)
	}
	if pid == 0 || pid == mainPID() {
		return nil
	}
	in.say("handing over: the daemon of %s (pid %d) runs outside the service manager; saving its list and stopping it, the service resurrects it", h, pid)
	if err := in.Daemons.SaveAndKill(ctx, h); err != nil {
		return fmt.Errorf("startup: hand over the daemon of %s: %w", h, err)
	}
	return nil
}

func (in *Installer) uninstallSystemd(ctx context.Context, s *Spec, files []File) error {
	units := unitNames(s)
	if dir, ok := in.packaged(s); ok {
		in.say("the units are the package's (%s): disabling and stopping them, not removing them", dir)
		return in.run(ctx, "systemctl", systemctl(s, append([]string{"disable", "--now"}, units...)...)...)
	}
	installed := false
	for _, f := range files {
		if strings.HasSuffix(f.Path, ".service") || strings.HasSuffix(f.Path, ".socket") {
			installed = installed || exists(in.path(f.Path))
		}
	}
	if !installed {
		in.say("nothing to remove: no %s", strings.Join(units, " or "))
		return nil
	}
	// Disable first: a failure to stop (already stopped, unknown to a manager that never loaded it) is reported
	// but does not keep the files in place.
	derr := in.run(ctx, "systemctl", systemctl(s, append([]string{"disable", "--now"}, units...)...)...)
	if derr != nil {
		in.say("warning: %v", derr)
	}
	for _, f := range files {
		if f.Path == "/etc/sysusers.d/gpm.conf" {
			continue // the group may own files and members; removing its declaration would orphan them
		}
		if _, err := in.remove(f.Path); err != nil {
			return err
		}
	}
	return in.run(ctx, "systemctl", systemctl(s, "daemon-reload")...)
}

// launchd: the domain is system for a LaunchDaemon, gui/<uid> for a LaunchAgent.
func launchdDomain(s *Spec) string {
	if s.Mode == User {
		return "gui/" + strconv.Itoa(s.UID)
	}
	return "system"
}

var launchdPID = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?m)^\s*pid = (\d+)`) }) // on first use, not in every CLI call's package initialisation

func (in *Installer) installLaunchd(ctx context.Context, s *Spec, files []File) error {
	changed, err := in.write(files[0])
	if err != nil {
		return err
	}
	domain := launchdDomain(s)
	target := domain + "/" + s.Name
	info, lerr := in.query(ctx, "launchctl", "print", target)
	loaded := lerr == nil
	if loaded && !changed {
		in.say("nothing to do: %s is loaded", target)
		return nil
	}
	if loaded {
		// launchd reads a plist only when it is bootstrapped: a changed one means a restart of the daemon.
		if err := in.run(ctx, "launchctl", "bootout", target); err != nil {
			return err
		}
	} else if err := in.handover(ctx, s, func() int {
		if m := launchdPID().FindStringSubmatch(info); m != nil {
			n, _ := strconv.Atoi(m[1])
			return n
		}
		return 0
	}); err != nil {
		return err
	}
	if err := in.run(ctx, "launchctl", "enable", target); err != nil {
		return err
	}
	return in.run(ctx, "launchctl", "bootstrap", domain, files[0].Path)
}

func (in *Installer) uninstallLaunchd(ctx context.Context, s *Spec, files []File) error {
	target := launchdDomain(s) + "/" + s.Name
	if _, err := in.query(ctx, "launchctl", "print", target); err == nil {
		if err := in.run(ctx, "launchctl", "bootout", target); err != nil {
			return err
		}
	}
	removed, err := in.remove(files[0].Path)
	if err == nil && !removed {
		in.say("nothing to remove: no %s", files[0].Path)
	}
	return err
}

// SystemdVersion returns the version of the systemd that systemctl belongs to ("systemd 252 (252.38-1)" → 252).
func SystemdVersion(ctx context.Context, r Runner) (int, error) {
	out, err := r.Run(ctx, "systemctl", "--version")
	if err != nil {
		return 0, err
	}
	f := strings.Fields(string(out))
	if len(f) < 2 || f[0] != "systemd" {
		return 0, fmt.Errorf("systemctl --version: unexpected %q", firstLine(out))
	}
	v, err := strconv.Atoi(f[1])
	if err != nil {
		return 0, fmt.Errorf("systemctl --version: unexpected %q", firstLine(out))
	}
	return v, nil
}

func firstLine(b []byte) string {
	l, _, _ := strings.Cut(string(b), "\n")
	return l
}
