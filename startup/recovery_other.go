//go:build !windows

package startup

import "github.com/kardianos/service"

// syncService is never reached off Windows (installWindows refuses first).
func syncService(*service.Config) ([]string, error) { return nil, errNotWindows }
