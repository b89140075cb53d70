//go:build !gpmthin

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/gpmd/gpm/api"
	"github.com/gpmd/gpm/startup"
)

// cliExecutable is the program the service runs as `PROGRAM daemon`: the CLI the user typed, links followed. The
// thin CLI hands startup and unstartup to this program with its own path in cliExeEnv (thin.go), so that the unit
// names gpm, as when the thin CLI rendered it, and not gpmd.
func cliExecutable() (string, error) {
	exe := os.Getenv(cliExeEnv)
	if exe != "" {
		// Not for the commands startup runs (systemctl, launchctl) nor a daemon they start.
		if err := os.Unsetenv(cliExeEnv); err != nil {
			return "", err
		}
	} else {
		var err error
		if exe, err = os.Executable(); err != nil {
			return "", err
		}
	}
	return filepath.EvalSymlinks(exe)
}

// startupFlags are shared by startup and unstartup.
type startupFlags struct {
	user, system, print bool
	waitIP              bool
	as, name, home      string
}

func (c *cli) startupFlags(name string, args []string) (*startupFlags, []string, error) {
	fs := c.flags(name)
	f := &startupFlags{}
	fs.BoolVar(&f.user, "user", false, "a service of your own service manager (systemd --user with lingering, a LaunchAgent) instead of a system service")
	fs.StringVarP(&f.as, "username", "u", "", "run the daemon of this user (default: you); its GPM_HOME is ~USER/.gpm unless GPM_HOME is set")
	fs.StringVar(&f.name, "service-name", "", "the service's name (default gpm-USER, or gpm for --user and --system)")
	fs.BoolVar(&f.system, "system", false, "the machine's system daemon (gpm --system): /var/lib/gpm, /run/gpm/gpm.sock for root and group gpm")
	fs.BoolVar(&f.print, "print", false, "only print what would be written")
	fs.StringVar(&f.home, "hp", "", "the user's home directory (default: from the user database); GPM_HOME is HOME/.gpm unless GPM_HOME is set")
	fs.BoolVar(&f.waitIP, "wait-ip", false, "start the daemon once the network is online (systemd: network-online.target)")
	if err := c.parse(fs, args); err != nil {
		return nil, nil, err
	}
	return f, fs.Args(), nil
}

// startupSpec turns the command line into what to install.
func (c *cli) startupSpec(ctx context.Context, f *startupFlags, args []string) (startup.Spec, error) {
	var s startup.Spec
	if len(args) > 1 {
		return s, fmt.Errorf("expected at most one platform (systemd, launchd or windows), got %q", args)
	}
	s.Platform = map[string]startup.Platform{"darwin": startup.Launchd, "windows": startup.Windows}[runtime.GOOS]
	if s.Platform == "" {
		s.Platform = startup.Systemd
	}
	if len(args) == 1 {
		// PM2 takes a distribution name: anything it knew that uses systemd means systemd.
		p, ok := map[string]startup.Platform{"systemd": startup.Systemd, "ubuntu": startup.Systemd, "debian": startup.Systemd,
			"centos": startup.Systemd, "redhat": startup.Systemd, "fedora": startup.Systemd, "amazon": startup.Systemd,
			"launchd": startup.Launchd, "macos": startup.Launchd, "darwin": startup.Launchd, "windows": startup.Windows}[args[0]]
		if !ok {
			return s, fmt.Errorf("unknown platform %q: systemd, launchd or windows", args[0])
		}
		s.Platform = p
	}
	exe, err := cliExecutable()
	if err != nil {
		return s, fmt.Errorf("find the gpm binary: %w", err)
	}
	s.Exe = exe
	switch {
	case (f.system || api.System()) && (f.user || f.as != ""):
		return s, fmt.Errorf("--system is the machine's own daemon: it takes neither --user nor -u")
	case f.system || api.System():
		s.Mode = startup.Global
	case f.user:
		if f.as != "" {
			return s, fmt.Errorf("--user installs a service of the user running gpm; to run another user's daemon, use -u USER as root")
		}
		if os.Geteuid() == 0 && !f.print {
			return s, fmt.Errorf("--user as root would give root a user service; run it as the user, or use -u USER for a system service")
		}
		s.Mode = startup.User
	default:
		s.Mode = startup.System
	}
	if s.Mode != startup.Global {
		u, err := user.Current()
		if f.as != "" {
			u, err = user.Lookup(f.as)
		}
		if err != nil {
			return s, fmt.Errorf("user: %w", err)
		}
		s.User, s.Home = u.Username, u.HomeDir
		if h := os.Getenv("HOME"); f.as == "" && h != "" {
			s.Home = h // PM2's --hp $HOME: the home this shell uses, which GPM_HOME defaults under
		}
		if f.home != "" {
			s.Home = f.home
		}
		s.UID, _ = strconv.Atoi(u.Uid)
		s.GPMHome = c.home
		if (f.as != "" || f.home != "") && os.Getenv(api.HomeEnv) == "" {
			s.GPMHome = filepath.Join(s.Home, api.DefaultHomeD)
		}
		s.Path = os.Getenv("PATH")
		if s.Platform == startup.Windows && f.as == "" {
			s.User = "" // LocalSystem: a named account needs its password, which kardianos would take as an option
		}
		if s.Mode == startup.System && os.Geteuid() != 0 && !f.print && s.Platform != startup.Windows {
			return s, needRoot(s)
		}
	}
	s.WaitOnline = f.waitIP
	s.Name = f.name
	if s.Name == "" {
		s.Name = startup.DefaultName(s.Platform, s.Mode, s.User)
	}
	if s.Platform == startup.Systemd {
		if v, err := startup.SystemdVersion(ctx, startup.Exec{}); err == nil && v >= 254 {
			s.FDStorePreserve = true
		}
	}
	return s, nil
}

// startupTarget parses the flags of startup or unstartup and works out the service they mean.
func (c *cli) startupTarget(ctx context.Context, name string, args []string) (*startupFlags, startup.Spec, error) {
	f, rest, err := c.startupFlags(name, args)
	if err != nil {
		return nil, startup.Spec{}, err
	}
	s, err := c.startupSpec(ctx, f, rest)
	return f, s, err
}

// errNeedRoot is startupSpec's answer to a user who asks for a system service: Command is what to run as root.
type errNeedRoot struct{ Command string }

func (e *errNeedRoot) Error() string { return "a system service needs root; run: " + e.Command }

// needRoot builds PM2's line for a user without root: `sudo env PATH=$PATH:DIR gpm startup PLATFORM -u USER --hp
// HOME` (deploy scripts take the last line of `pm2 startup` and run it).
func needRoot(s startup.Spec) error {
	env := "PATH=$PATH:" + shellWord(filepath.Dir(s.Exe))
	if s.GPMHome != filepath.Join(s.Home, api.DefaultHomeD) {
		env += " " + api.HomeEnv + "=" + shellWord(s.GPMHome)
	}
	return &errNeedRoot{Command: fmt.Sprintf("sudo env %s %s startup %s -u %s --hp %s", env, shellWord(s.Exe), s.Platform,
		shellWord(s.User), shellWord(s.Home))}
}

// shellWord quotes w for a POSIX shell when it needs it: the command needRoot prints is pasted into one, and a path
// with a space (or a quote) in it would be cut into words, or run something else.
func shellWord(w string) string {
	if w != "" && strings.Trim(w, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_@%+=:,./-") == "" {
		return w
	}
	return "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
}

func cmdStartup(ctx context.Context, c *cli, args []string) error {
	f, s, err := c.startupTarget(ctx, "startup", args)
	var nr *errNeedRoot
	if errors.As(err, &nr) {
		// As PM2 prints it, the command last; a success, since printing it is what was asked of a user.
		fmt.Fprintf(c.stdout, "[gpm] init system found: %s\n[gpm] to set up the startup script, copy/paste the following command (or, without root, gpm startup --user):\n%s\n",
			s.Platform, nr.Command)
		return nil
	}
	if err != nil {
		return err
	}
	if f.print {
		files, err := startup.Render(s)
		if err != nil {
			return err
		}
		for _, file := range files {
			if file.Path != "" {
				fmt.Fprintf(c.stdout, "### %s (%s)\n", file.Path, file.Doc)
			}
			c.stdout.Write(file.Data)
		}
		return nil
	}
	in := &startup.Installer{Runner: startup.Exec{}, Daemons: startup.Clients{}, Out: prefixed{c}}
	if err := in.Install(ctx, s); err != nil {
		return err
	}
	home := s.GPMHome
	if s.Mode == startup.Global {
		home = api.SystemHome
	}
	fmt.Fprintf(c.stdout, "[gpm] %s (%s, %s service) runs the daemon of %s from boot; it resurrects what `gpm save` saved\n",
		s.Name, s.Platform, s.Mode, home)
	return nil
}

func cmdUnstartup(ctx context.Context, c *cli, args []string) error {
	f, s, err := c.startupTarget(ctx, "unstartup", args)
	if err != nil {
		return err
	}
	if f.print {
		files, err := startup.Render(s)
		if err != nil {
			return err
		}
		for _, file := range files {
			if file.Path != "" {
				fmt.Fprintf(c.stdout, "would remove %s\n", file.Path)
			}
		}
		return nil
	}
	in := &startup.Installer{Runner: startup.Exec{}, Out: prefixed{c}}
	return in.Uninstall(ctx, s)
}

// prefixed writes the installer's report lines to stdout as "[gpm] ...".
type prefixed struct{ c *cli }

func (p prefixed) Write(b []byte) (int, error) {
	if _, err := fmt.Fprintf(p.c.stdout, "[gpm] %s", b); err != nil {
		return 0, err
	}
	return len(b), nil
}
