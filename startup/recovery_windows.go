package startup

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"time"

	"golang.org/x/sys/windows/registry"
	"golang.org/x/sys/windows/svc/mgr"
)

// syncService makes the registration of the installed service c.Name what gpm wants (wantRegistration): kardianos
// registers a service only once, with a single recovery action, so gpm compares what the service control manager
// holds and changes only what differs. It returns what it changed; nothing when all was as wanted. The account is
// never changed (a named account needs its password): a service running as another one must be removed first.
func syncService(c *winService) ([]string, error) {
	exe, err := filepath.Abs(c.Executable)
	if err != nil {
		return nil, fmt.Errorf("startup: %w", err)
	}
	want := wantRegistration(c, exe)
	m, err := mgr.Connect()
	if err != nil {
		return nil, fmt.Errorf("startup: service control manager: %w", err)
	}
	defer m.Disconnect()
	s, err := m.OpenService(c.Name)
	if err != nil {
		return nil, fmt.Errorf("startup: service %s: %w", c.Name, err)
	}
	defer s.Close()
	cfg, err := s.Config()
	if err != nil {
		return nil, fmt.Errorf("startup: service %s: %w", c.Name, err)
	}
	have := registration{
		CommandLine: cfg.BinaryPathName,
		DisplayName: cfg.DisplayName,
		Description: cfg.Description,
		StartType:   startTypeName(cfg.StartType, cfg.DelayedAutoStart),
		Account:     cfg.ServiceStartName,
	}
	if have.Env, err = serviceEnv(c.Name); err != nil {
		return nil, err
	}
	actions, err := s.RecoveryActions()
	if err != nil {
		return nil, fmt.Errorf("startup: recovery actions of %s: %w", c.Name, err)
	}
	for _, a := range actions {
		d := a.Delay
		if a.Type != mgr.ServiceRestart {
			d = -1 // not a restart: differs from every wanted step
		}
		have.Recovery = append(have.Recovery, d)
	}
	reset, err := s.ResetPeriod()
	if err != nil {
		return nil, fmt.Errorf("startup: recovery actions of %s: %w", c.Name, err)
	}
	have.ResetPeriod = time.Duration(reset) * time.Second
	if have.OnNonCrashes, err = s.RecoveryActionsOnNonCrashFailures(); err != nil {
		return nil, fmt.Errorf("startup: recovery actions of %s: %w", c.Name, err)
	}

	changed := have.diff(&want)
	if slices.Contains(changed, "account") {
		return nil, fmt.Errorf("startup: service %s runs as %s, not %s: remove it first (gpm unstartup windows)",
			c.Name, have.Account, want.Account)
	}
	if slices.ContainsFunc(changed, func(w string) bool { return w != "environment" && w != "recovery actions" }) {
		cfg.BinaryPathName = want.CommandLine
		cfg.DisplayName = want.DisplayName
		cfg.Description = want.Description
		cfg.StartType = mgr.StartAutomatic
		cfg.DelayedAutoStart = false
		cfg.ServiceStartName, cfg.Password = "", "" // "" leaves the account (and its password) alone
		if err := s.UpdateConfig(cfg); err != nil {
			return nil, fmt.Errorf("startup: update service %s: %w", c.Name, err)
		}
	}
	if slices.Contains(changed, "environment") {
		if err := setServiceEnv(c.Name, want.Env); err != nil {
			return nil, err
		}
	}
	if slices.Contains(changed, "recovery actions") {
		if err := setRecovery(s); err != nil {
			return nil, fmt.Errorf("startup: recovery actions of %s: %w", c.Name, err)
		}
	}
	return changed, nil
}

func startTypeName(t uint32, delayed bool) string {
	switch {
	case t == mgr.StartAutomatic && delayed:
		return "delayed"
	case t == mgr.StartAutomatic:
		return "automatic"
	case t == mgr.StartManual:
		return "manual"
	case t == mgr.StartDisabled:
		return "disabled"
	}
	return fmt.Sprintf("start type %d", t)
}

// serviceKey is where the service control manager keeps a service's settings; its Environment value (a multi-string
// of K=V) is the environment the service starts with, which kardianos writes from Config.EnvVars.
func serviceKey(name string) string { return `SYSTEM\CurrentControlSet\Services\` + name }

// serviceEnv returns the service's Environment, sorted; none is nil.
func serviceEnv(name string) ([]string, error) {
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, serviceKey(name), registry.QUERY_VALUE)
	if err != nil {
		return nil, fmt.Errorf("startup: environment of %s: %w", name, err)
	}
	defer k.Close()
	env, _, err := k.GetStringsValue("Environment")
	if errors.Is(err, registry.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("startup: environment of %s: %w", name, err)
	}
	slices.Sort(env)
	if len(env) == 0 {
		env = nil
	}
	return env, nil
}

// setServiceEnv replaces the service's Environment with env (none deletes it).
func setServiceEnv(name string, env []string) error {
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, serviceKey(name), registry.SET_VALUE)
	if err != nil {
		return fmt.Errorf("startup: environment of %s: %w", name, err)
	}
	defer k.Close()
	if len(env) == 0 {
		err = k.DeleteValue("Environment")
		if errors.Is(err, registry.ErrNotExist) {
			err = nil
		}
	} else {
		err = k.SetStringsValue("Environment", env)
	}
	if err != nil {
		return fmt.Errorf("startup: environment of %s: %w", name, err)
	}
	return nil
}

// setRecovery replaces kardianos's single recovery action with gpm's schedule (Recovery), applied to a daemon that
// exits with an error as well as to a crash.
func setRecovery(s *mgr.Service) error {
	actions := make([]mgr.RecoveryAction, len(Recovery))
	for i, a := range Recovery {
		actions[i] = mgr.RecoveryAction{Type: mgr.ServiceRestart, Delay: a.Delay}
	}
	if err := s.SetRecoveryActions(actions, uint32(RecoveryResetPeriod.Seconds())); err != nil {
		return err
	}
	return s.SetRecoveryActionsOnNonCrashFailures(true)
}
