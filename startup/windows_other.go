//go:build !windows

package startup

import "context"

// installWindows: kardianos/service installs into the service manager of the OS it was built for; --print shows
// what would be registered.
func (in *Installer) installWindows(context.Context, *Spec) error { return errNotWindows }

func (in *Installer) uninstallWindows(context.Context, *Spec) error { return errNotWindows }
