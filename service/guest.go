package service

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"

	"github.com/gpmd/gpm/activation"
	"github.com/gpmd/gpm/platform"
)

// endpoints are where an app finds the daemon: its NOTIFY_SOCKET, and for Node apps the shim and the shim's notify
// stream. "" when the daemon has none.
type endpoints struct {
	notify string
	stream string // platform.Address of the notify stream
	shim   string
}

// endpointsFor returns the endpoints for an app running as uid and gid (-1: the daemon's own user). Runs on the loop.
//
// An app that runs as another user (uid/gid, with a daemon running as root) cannot reach the daemon's own
// endpoints: GPM_HOME is 0700. A Node app with a uid crashed at start (MODULE_NOT_FOUND for the shim), and no such
// app could send READY=1. Its endpoints are "guest" ones instead, in a root-owned 0755 directory under /run (or
// the temp dir where there is no /run), made on first use and removed when the daemon exits: the shim, readable by
// all (it is code gpm ships), and for each uid a NOTIFY_SOCKET and a notify stream of its own, 0600 and owned by
// that uid, so that no other user can speak for its apps. Messages are matched to apps by the sender's pid, as on
// the daemon's own sockets.
func (d *Daemon) endpointsFor(uid, gid int) (endpoints, error) {
	if uid < 0 || uid == d.euid {
		ep := endpoints{shim: d.path(NodeShimName)}
		if d.notify != nil {
			ep.notify = d.notify.Path()
		}
		if d.notifyStream != "" {
			ep.stream = platform.Address(d.notifyStream)
		}
		return ep, nil
	}
	g, ok := d.guests[uid]
	if !ok {
		var err error
		if g, err = d.openGuest(uid, gid); err != nil {
			return endpoints{}, fmt.Errorf("notify sockets for uid %d: %w", uid, err)
		}
		d.guests[uid] = g
	}
	return endpoints{notify: g.notify.Path(), stream: platform.Address(g.stream.Addr().String()),
		shim: filepath.Join(d.guestDir, NodeShimName)}, nil
}

// guest holds the endpoints of the apps of one uid.
type guest struct {
	notify *activation.NotifyServer
	stream net.Listener
}

func (d *Daemon) openGuest(uid, gid int) (*guest, error) {
	if d.guestDir == "" {
		base := "/run"
		if fi, err := os.Stat(base); err != nil || !fi.IsDir() {
			base = os.TempDir()
		}
		dir, err := os.MkdirTemp(base, "gpm-guests-")
		if err != nil {
			return nil, err
		}
		err = os.Chmod(dir, 0o755)
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, NodeShimName), nodeShim, 0o644)
		}
		if err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		d.guestDir = dir
	}
	id := strconv.Itoa(uid)
	n, err := activation.ListenNotify(filepath.Join(d.guestDir, "notify-"+id+".sock"))
	if err != nil {
		return nil, err
	}
	s, err := platform.Listen(filepath.Join(d.guestDir, "notify-stream-"+id+".sock"))
	if err != nil {
		n.Close()
		return nil, err
	}
	for _, path := range []string{n.Path(), s.Addr().String()} {
		if err := os.Chown(path, uid, gid); err != nil {
			n.Close()
			s.Close()
			return nil, err
		}
	}
	go d.listenNotify(d.runCtx, n)
	go d.serveNodeNotify(s)
	return &guest{notify: n, stream: s}, nil
}

// closeGuests closes the guest endpoints and removes their directory. Called once the loop has ended.
func (d *Daemon) closeGuests() {
	for _, g := range d.guests {
		g.notify.Close()
		g.stream.Close()
	}
	if d.guestDir != "" {
		os.RemoveAll(d.guestDir)
	}
}
