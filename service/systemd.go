package service

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gpmd/gpm/activation"
	"github.com/gpmd/gpm/api"
)

// ControlFDName is the FileDescriptorName= of the control socket in gpm.socket: systemd holds it, and the first
// client's connection starts the daemon.
const ControlFDName = "gpm-control"

// supervisor is the service manager above the daemon (systemd), spoken to with sd_notify: READY=1 once the saved
// list is resurrected, STATUS= with the counts, WATCHDOG=1 from the supervision loop, STOPPING=1, and every
// listening socket kept in its fd store so a restart of gpm refuses no connection. Without NOTIFY_SOCKET it does
// nothing.
type supervisor struct {
	addr     string
	watchdog time.Duration // ping interval: half of WATCHDOG_USEC; 0 = off
	status   string
}

func newSupervisor(env map[string]string) *supervisor {
	s := &supervisor{addr: env["NOTIFY_SOCKET"]}
	if us, err := strconv.ParseInt(env["WATCHDOG_USEC"], 10, 64); err == nil && us > 0 {
		if pid := env["WATCHDOG_PID"]; pid == "" || pid == strconv.Itoa(os.Getpid()) {
			s.watchdog = time.Duration(us) * time.Microsecond / 2
		}
	}
	return s
}

func (s *supervisor) active() bool { return s.addr != "" }

// send tells systemd state, retrying for up to a second while systemd's queue is full: for messages that must
// arrive (READY=1, STOPPING=1, FDSTORE=1). Errors are returned for the caller to log; systemd going away must not
// stop us.
func (s *supervisor) send(state string, files ...*os.File) error {
	if s.addr == "" {
		return nil
	}
	var err error
	for delay := time.Millisecond; delay < time.Second; delay *= 2 {
		if err = activation.SendNotify(s.addr, state, files...); !errors.Is(err, syscall.EAGAIN) {
			return err
		}
		time.Sleep(delay)
	}
	return err
}

// try sends state once, without waiting: for what the loop sends often (STATUS=, WATCHDOG=1), where the next
// message replaces a lost one. The loop must never wait on systemd.
func (s *supervisor) try(state string) error {
	if s.addr == "" {
		return nil
	}
	return activation.SendNotify(s.addr, state)
}

// fdName is the fd-store name of an app's socket: derived from the app and the address, so a changed address is
// bound afresh instead of reusing the stored socket. FDNAME allows no ':' and 255 characters: a hash fits.
func fdName(app string, spec activation.Spec) string {
	h := sha256.Sum256([]byte(app + "\n" + spec.String()))
	return "gpm." + hex.EncodeToString(h[:12])
}

// takeInherited collects the sockets systemd passed (LISTEN_FDS): fd-store entries of ours go to stored, by name;
// the rest (from a .socket unit) wait for an app that asks for systemd:NAME. It must run once, before anything
// else opens files, because LISTEN_FDS numbers are only valid at startup.
func (d *Daemon) takeInherited() {
	if os.Getenv("LISTEN_FDS") != "" && os.Getenv("LISTEN_PID") != strconv.Itoa(os.Getpid()) {
		d.log.Printf("warning: LISTEN_FDS set but LISTEN_PID=%s is not our pid %d: ignoring the passed sockets", os.Getenv("LISTEN_PID"), os.Getpid())
	}
	for _, f := range activation.Inherited() {
		name := f.Name()
		if name == ControlFDName {
			ln, err := net.FileListener(f)
			f.Close()
			if err != nil {
				d.log.Printf("warning: socket %q from systemd is not a listening socket: %v", name, err)
				continue
			}
			d.control = ln
			continue
		}
		if strings.HasPrefix(name, "gpm.") {
			d.stored[name] = f
			continue
		}
		d.inherited = append(d.inherited, &activation.Socket{Spec: activation.Spec{Name: name, Network: "systemd", Address: name}, File: f})
	}
	if n := len(d.stored) + len(d.inherited); n > 0 {
		d.log.Printf("took %d socket(s) from systemd: %d from the fd store, %d from socket units", n, len(d.stored), len(d.inherited))
	}
}

// storeSocket puts a socket into systemd's fd store, so the next daemon gets it back.
func (d *Daemon) storeSocket(app string, s *activation.Socket) {
	if !d.sd.active() || s.Spec.Network == "systemd" {
		return
	}
	name := fdName(app, s.Spec)
	if err := d.sd.send("FDSTORE=1\nFDNAME="+name, s.File); err != nil {
		d.log.Printf("fd store %s (%s): %v", s.Spec, name, err)
	}
}

// unstoreSocket removes it when the app is gone.
func (d *Daemon) unstoreSocket(app string, s *activation.Socket) {
	if !d.sd.active() || s.Spec.Network == "systemd" {
		return
	}
	d.sd.send("FDSTOREREMOVE=1\nFDNAME=" + fdName(app, s.Spec))
}

// dropUnclaimed closes what systemd passed and no app took after the saved list was resurrected: an fd-store entry
// of an app that is gone, or a socket unit's fd nobody asked for. Keeping them would leak them forever. It runs only
// when the daemon resurrected at start (a service unit's boot path, where the saved list is the whole desired
// state); a daemon started without --resurrect keeps them for a later `gpm start --listen systemd:NAME`.
func (d *Daemon) dropUnclaimed() {
	for name, f := range d.stored {
		d.log.Printf("fd store entry %s claimed by no app: closed", name)
		d.sd.send("FDSTOREREMOVE=1\nFDNAME=" + name)
		f.Close()
		delete(d.stored, name)
	}
	for _, s := range d.inherited {
		d.log.Printf("socket %q from systemd claimed by no app (listen: systemd:%s): closed", s.Spec.Name, s.Spec.Name)
		s.File.Close()
	}
	d.inherited = nil
}

// updateStatus sends STATUS= when the counts changed. Runs on the loop.
func (d *Daemon) updateStatus() {
	if !d.sd.active() {
		return
	}
	counts := map[string]int{}
	for _, p := range d.procs {
		counts[p.status]++
	}
	var parts []string
	for _, st := range []string{api.StatusOnline, api.StatusLaunching, api.StatusWaiting, api.StatusStopping, api.StatusStopped, api.StatusErrored} {
		if counts[st] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[st], st))
		}
	}
	status := strings.Join(parts, ", ")
	if status == "" {
		status = "no apps"
	}
	// Remember what was sent only when it went out, so that a status lost to a full queue is sent again.
	if status != d.sd.status && d.sd.try("STATUS="+status) == nil {
		d.sd.status = status
	}
}

// monotonicUsec is CLOCK_MONOTONIC in microseconds, for MONOTONIC_USEC=.
func monotonicUsec() int64 { return time.Duration(nanotime()).Microseconds() }
