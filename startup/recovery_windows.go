package startup

import (
	"fmt"

	"golang.org/x/sys/windows/svc/mgr"
)

// setRecovery replaces kardianos's single recovery action with gpm's schedule (Recovery).
func setRecovery(name string) error {
	m, err := mgr.Connect()
	if err != nil {
		return fmt.Errorf("startup: recovery actions: %w", err)
	}
	defer m.Disconnect()
	s, err := m.OpenService(name)
	if err != nil {
		return fmt.Errorf("startup: recovery actions: %w", err)
	}
	defer s.Close()
	actions := make([]mgr.RecoveryAction, len(Recovery))
	for i, a := range Recovery {
		actions[i] = mgr.RecoveryAction{Type: mgr.ServiceRestart, Delay: a.Delay}
	}
	if err := s.SetRecoveryActions(actions, uint32(RecoveryResetPeriod.Seconds())); err != nil {
		return fmt.Errorf("startup: recovery actions: %w", err)
	}
	return nil
}
