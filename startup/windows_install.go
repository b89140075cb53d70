package startup

import (
	"context"
	"errors"
	"fmt"
	"runtime"

	"github.com/kardianos/service"
)

// errNotWindows: kardianos installs into the service manager of the OS it was built for.
var errNotWindows = errors.New("startup: a Windows service can be installed on Windows only (--print shows it)")

func (in *Installer) installWindows(ctx context.Context, s *Spec) error {
	if runtime.GOOS != "windows" {
		return errNotWindows
	}
	svc, err := service.New(noProgram{}, windowsConfig(s))
	if err != nil {
		return fmt.Errorf("startup: %w", err)
	}
	st, err := svc.Status()
	switch {
	case errors.Is(err, service.ErrNotInstalled):
		if err := in.handover(ctx, s, func() int { return 0 }); err != nil {
			return err
		}
		if err := svc.Install(); err != nil {
			return fmt.Errorf("startup: install service %s: %w", s.Name, err)
		}
		in.say("installed: Windows service %s (kardianos/service)", s.Name)
		if err := setRecovery(s.Name); err != nil {
			return err
		}
		in.say("set: recovery actions of %s", s.Name)
	case err != nil:
		return fmt.Errorf("startup: service %s: %w", s.Name, err)
	default:
		// kardianos cannot update a registration: reinstall (gpm unstartup; gpm startup) to change it.
		in.say("unchanged: Windows service %s is installed", s.Name)
	}
	if st == service.StatusRunning {
		in.say("nothing to do: %s is running", s.Name)
		return nil
	}
	if err := svc.Start(); err != nil {
		return fmt.Errorf("startup: start service %s: %w", s.Name, err)
	}
	in.say("started: Windows service %s", s.Name)
	return nil
}

func (in *Installer) uninstallWindows(ctx context.Context, s *Spec) error {
	if runtime.GOOS != "windows" {
		return errNotWindows
	}
	svc, err := service.New(noProgram{}, windowsConfig(s))
	if err != nil {
		return fmt.Errorf("startup: %w", err)
	}
	if _, err := svc.Status(); errors.Is(err, service.ErrNotInstalled) {
		in.say("nothing to remove: no Windows service %s", s.Name)
		return nil
	}
	if err := svc.Stop(); err != nil {
		in.say("warning: stop %s: %v", s.Name, err)
	}
	if err := svc.Uninstall(); err != nil {
		return fmt.Errorf("startup: remove service %s: %w", s.Name, err)
	}
	in.say("removed: Windows service %s", s.Name)
	return nil
}
