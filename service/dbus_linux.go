package service

import (
	"context"

	"github.com/gpmd/gpm/api"
	"github.com/gpmd/gpm/dbusapi"
)

// The D-Bus surface: io.gpm.Manager1 on the system bus for the system daemon, else on the user's session bus when
// there is one (dbusapi.Run finds it, reconnects, and logs one line when there is none).
func init() {
	addSurface(func(ctx context.Context, d *Daemon) {
		dbusapi.Run(ctx, dbusapi.Config{
			Caller: d.Caller(),
			Admits: d.Admits,
			Log:    d.Logger(),
			Env:    d.env,
			System: d.system(),
		})
	})
}

// system reports whether d is the system daemon (gpm --system daemon, the packaged gpm.service).
func (d *Daemon) system() bool { return d.env[api.SystemEnv] == "1" }
