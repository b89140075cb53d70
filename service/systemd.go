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
	"sync"
	"syscall"
	"time"

	"github.com/gpmd/gpm/activation"
	"github.com/gpmd/gpm/api"
)

// ControlFDName is the FileDescriptorName= of the control socket in gpm.socket: systemd holds it, and the first
// client's connection starts the daemon.
const ControlFDName = "gpm-control"

// supervisor is the service manager above the daemon (systemd), spoken to with sd_notify: READY=1 once the saved
// list is resurrected, STATUS= with the counts, WATCHDOG=1 from the supervision loop, STOPPING=1, RELOADING=1
// while reloads run, and every listening socket kept in its fd store so a restart of gpm refuses no connection.
// Without NOTIFY_SOCKET it does nothing.
//
// Messages that must arrive go through a queue, sent in order by a goroutine that retries while systemd's queue is
// full: the supervision loop posts them and never waits on systemd. The goroutine runs while the queue is not
// empty.
type supervisor struct {
	addr     string
	watchdog time.Duration // ping interval: half of WATCHDOG_USEC; 0 = off
	status   string        // the last STATUS= sent; owned by the loop

	mu      sync.Mutex
	pending []sdMessage // in order; at most maxQueuedNotify
	sending bool        // a goroutine is sending pending
	reloads int         // reloads under way: RELOADING=1 on the first, READY=1 when the last ends
}

// maxQueuedNotify bounds the messages waiting for systemd (each FDSTORE=1 holds a descriptor until it is sent).
const maxQueuedNotify = 256

// notifyRetry is how long a message that must arrive is retried while systemd's queue is full.
const notifyRetry = time.Second

// sdMessage is one queued message. fds are descriptors of its own (DupFD), closed once sent; done, when set, gets
// the outcome.
type sdMessage struct {
	state string
	fds   []int
	done  func(error)
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

// send queues state and waits until it is sent, after every message queued before it: for READY=1 and STOPPING=1
// from Run. Errors are returned for the caller to log; systemd going away must not stop us. Never call it on the
// loop: use post.
func (s *supervisor) send(state string) error {
	if s.addr == "" {
		return nil
	}
	ch := make(chan error, 1)
	if err := s.post(state, func(err error) { ch <- err }); err != nil {
		return err
	}
	return <-ch
}

// post queues state, with a copy of files (the caller may close them at once), to be sent in order; done (may be
// nil) gets the outcome. It never waits. It fails only when the message cannot be queued.
func (s *supervisor) post(state string, done func(error), files ...*os.File) error {
	if s.addr == "" {
		return nil
	}
	m := sdMessage{state: state, done: done}
	for _, f := range files {
		fd, err := activation.DupFD(f)
		if err != nil {
			closeFDs(m.fds)
			return fmt.Errorf("sd_notify %s: %w", firstLine(state), err)
		}
		m.fds = append(m.fds, fd)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.queueLocked(m)
}

func (s *supervisor) queueLocked(m sdMessage) error {
	if len(s.pending) >= maxQueuedNotify {
		closeFDs(m.fds)
		return fmt.Errorf("sd_notify %s: dropped: %d messages already wait for systemd (maxQueuedNotify)", firstLine(m.state), len(s.pending))
	}
	s.pending = append(s.pending, m)
	if !s.sending {
		s.sending = true
		go s.drain()
	}
	return nil
}

// drain sends the queue in order until it is empty.
func (s *supervisor) drain() {
	for {
		s.mu.Lock()
		if len(s.pending) == 0 {
			s.sending = false
			s.pending = nil
			s.mu.Unlock()
			return
		}
		m := s.pending[0]
		s.pending = s.pending[1:]
		s.mu.Unlock()
		err := s.sendNow(m.state, m.fds)
		closeFDs(m.fds)
		if m.done != nil {
			m.done(err)
		}
	}
}

// sendNow sends state, retrying for up to notifyRetry while systemd's queue is full.
func (s *supervisor) sendNow(state string, fds []int) error {
	var err error
	for delay := time.Millisecond; delay < notifyRetry; delay *= 2 {
		if err = activation.SendNotifyFDs(s.addr, state, fds...); !errors.Is(err, syscall.EAGAIN) {
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

// reloadBegin and reloadEnd bracket a reload. Reloads of several apps may run at once: systemd hears RELOADING=1
// (with MONOTONIC_USEC=, as Type=notify-reload wants) when the first begins and READY=1 when the last ends,
// whatever their outcome (the daemon itself is fine either way). Counting and queueing under one lock keeps a
// RELOADING=1 from overtaking the READY=1 of the reload before it. Errors go to logf.
func (s *supervisor) reloadBegin(logf func(string, ...any)) {
	s.reloadStep(+1, logf)
}

func (s *supervisor) reloadEnd(logf func(string, ...any)) {
	s.reloadStep(-1, logf)
}

func (s *supervisor) reloadStep(delta int, logf func(string, ...any)) {
	if s.addr == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reloads += delta
	var state string
	switch {
	case delta > 0 && s.reloads == 1:
		state = fmt.Sprintf("%s\nMONOTONIC_USEC=%d", activation.Reloading, monotonicUsec())
	case delta < 0 && s.reloads == 0:
		state = activation.Ready
	default:
		return
	}
	logErr := func(err error) {
		if err != nil {
			logf("sd_notify %s: %v", firstLine(state), err)
		}
	}
	logErr(s.queueLocked(sdMessage{state: state, done: logErr}))
}

func closeFDs(fds []int) {
	for _, fd := range fds {
		activation.CloseFD(fd)
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
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
	files, err := activation.InheritedFiles()
	if err != nil {
		d.log.Printf("warning: the sockets systemd passed are not taken: %v", err)
	}
	for _, f := range files {
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

// storeSocket puts a socket into systemd's fd store, so the next daemon gets it back. It only queues the message
// (with a descriptor of its own): the loop never waits on systemd.
func (d *Daemon) storeSocket(app string, s *activation.Socket) {
	if !d.sd.active() || s.Spec.Network == "systemd" {
		return
	}
	name := fdName(app, s.Spec)
	logErr := func(err error) {
		if err != nil {
			d.log.Printf("fd store %s (%s): %v", s.Spec, name, err)
		}
	}
	logErr(d.sd.post("FDSTORE=1\nFDNAME="+name, logErr, s.File))
}

// unstoreSocket removes it when the app is gone (queued after the FDSTORE=1, so in order).
func (d *Daemon) unstoreSocket(app string, s *activation.Socket) {
	if !d.sd.active() || s.Spec.Network == "systemd" {
		return
	}
	d.unstore(fdName(app, s.Spec))
}

// unstore queues FDSTOREREMOVE=1 for the fd-store entry name.
func (d *Daemon) unstore(name string) {
	logErr := func(err error) {
		if err != nil {
			d.log.Printf("fd store remove %s: %v", name, err)
		}
	}
	logErr(d.sd.post("FDSTOREREMOVE=1\nFDNAME="+name, logErr))
}

// dropUnclaimed closes what systemd passed and no app took after the saved list was resurrected: an fd-store entry
// of an app that is gone, or a socket unit's fd nobody asked for. Keeping them would leak them forever. It runs only
// when the daemon resurrected at start (a service unit's boot path, where the saved list is the whole desired
// state); a daemon started without --resurrect keeps them for a later `gpm start --listen systemd:NAME`.
func (d *Daemon) dropUnclaimed() {
	for name, f := range d.stored {
		d.log.Printf("fd store entry %s claimed by no app: closed", name)
		d.unstore(name)
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
