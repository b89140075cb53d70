//go:build windows

package startup

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/kardianos/service"
)

// noProgram satisfies kardianos's Interface for installing; the daemon itself answers the service control manager
// through golang.org/x/sys/windows/svc (cmd/gpm/daemon_windows.go).
type noProgram struct{}

func (noProgram) Start(service.Service) error { return nil }
func (noProgram) Stop(service.Service) error  { return nil }

// kardianos is c as kardianos/service takes it.
func (c *winService) kardianos() *service.Config {
	return &service.Config{
		Name:        c.Name,
		DisplayName: c.DisplayName,
		Description: c.Description,
		Executable:  c.Executable,
		Arguments:   c.Arguments,
		UserName:    c.UserName,
		EnvVars:     c.EnvVars,
		Option:      service.KeyValue(c.Option),
	}
}

// elevated adds what to do to an error that says access was denied: the service control manager lets only an
// elevated Administrator create, change or remove services.
func elevated(err error) error {
	if errors.Is(err, os.ErrPermission) {
		return fmt.Errorf("%w (run gpm from an elevated prompt: Run as administrator)", err)
	}
	return err
}

// installWindows registers the service with kardianos (the first time), makes its registration what gpm wants
// (syncService: the recovery schedule, and whatever changed since), and starts it. A second run changes nothing.
func (in *Installer) installWindows(ctx context.Context, s *Spec) error {
	c := windowsConfig(s)
	svc, err := service.New(noProgram{}, c.kardianos())
	if err != nil {
		return fmt.Errorf("startup: %w", err)
	}
	st, err := svc.Status()
	fresh := errors.Is(err, service.ErrNotInstalled)
	switch {
	case fresh:
		if err := in.handover(ctx, s, func() int { return 0 }); err != nil {
			return err
		}
		if err := svc.Install(); err != nil {
			return elevated(fmt.Errorf("startup: install service %s: %w", s.Name, err))
		}
		in.say("installed: Windows service %s (kardianos/service)", s.Name)
	case err != nil:
		return elevated(fmt.Errorf("startup: service %s: %w", s.Name, err))
	}
	changed, err := syncService(c)
	if err != nil {
		return elevated(err)
	}
	switch {
	case fresh:
		// kardianos set one recovery action; the rest of the registration is what it was just given.
		in.say("set: %s of Windows service %s", strings.Join(changed, ", "), s.Name)
	case len(changed) > 0:
		in.say("updated: %s of Windows service %s", strings.Join(changed, ", "), s.Name)
	default:
		in.say("unchanged: Windows service %s", s.Name)
	}
	if st == service.StatusRunning {
		if len(changed) > 0 {
			in.say("note: %s runs with its old settings until it restarts: sc.exe stop %s, then sc.exe start %s", s.Name, s.Name, s.Name)
		} else {
			in.say("nothing to do: %s is running", s.Name)
		}
		return nil
	}
	if err := svc.Start(); err != nil {
		return elevated(fmt.Errorf("startup: start service %s: %w", s.Name, err))
	}
	in.say("started: Windows service %s", s.Name)
	return nil
}

// uninstallWindows stops the service (its daemon stops its apps first; the saved list stays in GPM_HOME) and
// removes it. Removing a service that is not there is not an error.
func (in *Installer) uninstallWindows(ctx context.Context, s *Spec) error {
	svc, err := service.New(noProgram{}, windowsConfig(s).kardianos())
	if err != nil {
		return fmt.Errorf("startup: %w", err)
	}
	st, err := svc.Status()
	if errors.Is(err, service.ErrNotInstalled) {
		in.say("nothing to remove: no Windows service %s", s.Name)
		return nil
	}
	if err != nil {
		return elevated(fmt.Errorf("startup: service %s: %w", s.Name, err))
	}
	if st == service.StatusRunning {
		if err := svc.Stop(); err != nil {
			in.say("warning: stop %s: %v", s.Name, err)
		} else {
			in.say("stopped: Windows service %s", s.Name)
		}
	}
	if err := svc.Uninstall(); err != nil {
		return elevated(fmt.Errorf("startup: remove service %s: %w", s.Name, err))
	}
	in.say("removed: Windows service %s", s.Name)
	return nil
}
