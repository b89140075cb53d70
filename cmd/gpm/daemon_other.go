//go:build !windows && !gpmthin

package main

import (
	"context"

	"github.com/gpmd/gpm/service"
)

// runDaemon runs d. systemd and launchd run `gpm daemon` as an ordinary process (systemd's notify protocol is the
// daemon's own business); only Windows needs a service handler (daemon_windows.go).
func runDaemon(ctx context.Context, d *service.Daemon) error {
	return d.Run(ctx)
}
