package service

import (
	"context"
	"os"
	"os/user"
	"slices"
	"strconv"

	"github.com/gpmd/gpm/api"
	"github.com/gpmd/gpm/dbusapi"
)

// systemGroup is the group whose members may control the system daemon: gpm.socket makes the control socket
// root:gpm 0660, and the shipped D-Bus policy lets the group call io.gpm.Manager1 (init/gpm.sysusers makes it).
const systemGroup = "gpm"

// The D-Bus surface: io.gpm.Manager1 on the system bus for the system daemon, else on the user's session bus when
// there is one (dbusapi.Run finds it, reconnects, and logs one line when there is none).
func init() {
	addSurface(func(ctx context.Context, d *Daemon) {
		dbusapi.Run(ctx, dbusapi.Config{
			Caller: d.Caller(),
			Admits: d.dbusAdmits(),
			Log:    d.Logger(),
			Env:    busEnv(d.env),
			System: d.system(),
		})
	})
}

// system reports whether d is the system daemon (gpm --system daemon, the packaged gpm.service).
func (d *Daemon) system() bool { return d.env[api.SystemEnv] == "1" }

// dbusAdmits is the control socket's rule for a caller on the bus. A user's daemon admits root and its own uid
// (Admits). The system daemon's Admits lets in anyone who could open its socket, because the socket's mode and
// group are that check; a bus has no such mode, so here the group itself is checked: root, the daemon's uid, and
// the members of group gpm.
func (d *Daemon) dbusAdmits() func(uid int, gids []int) bool {
	if !d.system() && !d.opts.TrustSocketGroup {
		return func(uid int, _ []int) bool { return d.Admits(uid) }
	}
	gid := -1
	if g, err := user.LookupGroup(systemGroup); err == nil {
		gid, _ = strconv.Atoi(g.Gid)
	}
	euid := os.Geteuid()
	return func(uid int, gids []int) bool {
		return uid == 0 || uid == euid || (gid >= 0 && slices.Contains(gids, gid))
	}
}

// busEnv is what dbusapi reads of the daemon's environment: a copy, so that the surface holds none of the daemon's.
func busEnv(env map[string]string) map[string]string {
	out := map[string]string{}
	for _, k := range []string{dbusapi.AddressEnv, "DBUS_SYSTEM_BUS_ADDRESS", "DBUS_SESSION_BUS_ADDRESS", "XDG_RUNTIME_DIR"} {
		if v, ok := env[k]; ok {
			out[k] = v
		}
	}
	return out
}
