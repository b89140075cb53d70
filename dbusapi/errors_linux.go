package dbusapi

import (
	"context"
	"errors"
	"fmt"

	"github.com/godbus/dbus/v5"

	"github.com/gpmd/gpm/api"
)

// newError is the D-Bus error io.gpm.Error.<kind> with msg, which busctl prints as "Call failed: msg".
func newError(kind, msg string) *dbus.Error {
	return &dbus.Error{Name: ErrorPrefix + kind, Body: []any{msg}}
}

// toError names a failure of the daemon by its api.Error code, with the daemon's message (the CLI's): NotFound,
// InvalidArgument, AccessDenied, or Failed for the rest.
func toError(err error) *dbus.Error {
	var ae *api.Error
	if errors.As(err, &ae) {
		switch ae.Code {
		case api.CodeNotFound, api.CodeNoDump:
			return newError("NotFound", ae.Message)
		case api.CodeInvalid, api.CodeTooLarge, api.CodeEmptyList:
			return newError("InvalidArgument", ae.Message)
		case api.CodeDenied:
			return newError("AccessDenied", ae.Message)
		}
		return newError("Failed", ae.Message)
	}
	if errors.Is(err, context.Canceled) {
		return newError("Failed", "the gpm daemon is stopping or lost the bus: "+err.Error())
	}
	return newError("Failed", err.Error())
}

// authorize lets sender change state when the daemon admits it, as the control socket admits a peer: the bus
// policy already let it send the call, but a policy is the administrator's to widen, and this check is the
// daemon's own. The bus says who the caller is (GetConnectionCredentials: its uid, and its groups where the bus
// knows them, as dbus-daemon and dbus-broker do on Linux >= 4.13).
func (s *session) authorize(sender dbus.Sender) *dbus.Error {
	var creds map[string]dbus.Variant
	err := s.conn.BusObject().CallWithContext(s.ctx, "org.freedesktop.DBus.GetConnectionCredentials", 0, string(sender)).Store(&creds)
	if err != nil {
		return newError("Failed", fmt.Sprintf("cannot tell who the caller %s is (GetConnectionCredentials): %v", sender, err))
	}
	uid, ok := creds["UnixUserID"].Value().(uint32)
	if !ok {
		return newError("AccessDenied", fmt.Sprintf("permission denied: the bus does not say which uid the caller %s has", sender))
	}
	var gids []int
	if g, ok := creds["UnixGroupIDs"].Value().([]uint32); ok {
		for _, id := range g {
			gids = append(gids, int(id))
		}
	}
	if !s.cfg.Admits(int(uid), gids) {
		return newError("AccessDenied", fmt.Sprintf("permission denied: uid %d may read this gpm daemon but not control it", uid))
	}
	return nil
}
