package dbusapi

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/gpmd/gpm/api"
)

// MaxCalls bounds the method calls the service runs at once. godbus runs every incoming call in a goroutine of its
// own (so a long Reload never holds up the others); past MaxCalls a call is refused with LimitsExceeded rather than
// queued, so that a flood of calls cannot pile up goroutines and daemon operations.
const MaxCalls = 64

// maxTargets bounds the targets of one call, as the daemon bounds its processes (api.MaxProcesses).
const maxTargets = api.MaxProcesses

// resyncEvery is how often the mirror is read again in full even without an event: a safety net, since every
// change the mirror shows comes with a state event (a delete with status deleted), and lost ones with dropped.
const resyncEvery = 10 * time.Second

// session is the service on one bus connection: the exported objects and the mirror of the daemon's processes that
// feeds their properties and signals. A lost connection ends the session; the next connection gets a new one.
type session struct {
	cfg  Config
	conn *dbus.Conn
	ctx  context.Context // the connection's: it ends when the bus goes away or the daemon stops
	kick chan struct{}   // a token asks the refresher for a full read of the process list
	wg   sync.WaitGroup  // the session's goroutines

	gate struct {
		sync.Mutex
		closed bool
		n      int
		wg     sync.WaitGroup // calls in flight
	}

	// refreshMu makes a read of the list and its application to the mirror one step, so that the mirror moves
	// through the daemon's states in order and signals go out in that order.
	refreshMu sync.Mutex
	// emitMu keeps signals in the order their changes were made: taken before mu is released.
	emitMu sync.Mutex

	mu      sync.Mutex
	procs   map[int]*entry
	version string
	nOnline uint32
	listErr string // the last refresh failure logged
}

// entry is one process in the mirror.
type entry struct {
	// props are io.gpm.Process1's properties, current. A map is never changed once here (a change makes a new
	// one), so that signals and replies may hold it without the lock.
	props map[string]dbus.Variant
	// sampleSent is when the sample properties last went out in PropertiesChanged, sent what they were then.
	sampleSent time.Time
	sent       [3]any
}

// sampleProps are the properties a sample changes, whose signals are spaced by Config.SampleSignals.
var sampleProps = [3]string{"CPUUsageNSec", "CPUPercent", "MemoryCurrent"}

func newSession(conn *dbus.Conn, cfg Config) *session {
	return &session{cfg: cfg, conn: conn, ctx: conn.Context(), kick: make(chan struct{}, 1), procs: map[int]*entry{}}
}

// start reads the version and the process list, and starts following the daemon's events.
func (s *session) start() {
	var v api.VersionInfo
	if err := s.cfg.Caller.Call(s.ctx, api.MethodVersion, nil, &v); err == nil {
		s.mu.Lock()
		s.version = v.Version
		s.mu.Unlock()
	}
	s.wg.Go(s.follow)
	s.wg.Go(s.refresher)
	s.refresh()
}

// close waits for the calls in flight and the session's goroutines; the connection is closed (or closing) already,
// so that they end.
func (s *session) close() {
	s.gate.Lock()
	s.gate.closed = true
	s.gate.Unlock()
	s.gate.wg.Wait()
	s.wg.Wait()
}

// enter admits one call, or refuses it when MaxCalls are running or the session is ending; leave must follow an
// admission.
func (s *session) enter() *dbus.Error {
	s.gate.Lock()
	defer s.gate.Unlock()
	if s.gate.closed {
		return newError("Failed", "the gpm daemon is stopping")
	}
	if s.gate.n >= MaxCalls {
		return &dbus.Error{Name: "org.freedesktop.DBus.Error.LimitsExceeded",
			Body: []any{fmt.Sprintf("%d calls are running, the most this service runs at once (dbusapi.MaxCalls): try again", MaxCalls)}}
	}
	s.gate.n++
	s.gate.wg.Add(1)
	return nil
}

func (s *session) leave() {
	s.gate.Lock()
	s.gate.n--
	s.gate.Unlock()
	s.gate.wg.Done()
}

// follow reads the daemon's events: a state change or lost events ask for a full read, samples update the cpu and
// memory properties. Log lines are left out by the daemon (nologs): the mirror has no use for them, and the daemon
// then builds no event for a line when no other reader wants lines.
func (s *session) follow() {
	for s.ctx.Err() == nil {
		err := s.cfg.Caller.Stream(s.ctx, api.MethodSubscribe, api.LogsParams{NoLogs: true}, func(e api.Event) error {
			switch e.Type {
			case api.EventState, api.EventDropped:
				s.askRefresh()
			case api.EventSample:
				s.sample(e.Samples)
			}
			return nil
		})
		if s.ctx.Err() != nil {
			return
		}
		s.cfg.Log.Printf("dbus: the daemon's event stream ended (%v); following it again", err)
		s.askRefresh()
		select {
		case <-s.ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

func (s *session) askRefresh() {
	select {
	case s.kick <- struct{}{}:
	default: // one is pending: it reads the list after this change too
	}
}

// refresher reads the list when asked, and every resyncEvery.
func (s *session) refresher() {
	t := time.NewTicker(resyncEvery)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-s.kick:
		case <-t.C:
		}
		s.refresh()
	}
}

// refresh reads the process list and brings the mirror to it, sending the signals of the differences. A failure
// is logged (once until it changes) and leaves the mirror as it was.
func (s *session) refresh() {
	s.refreshMu.Lock()
	defer s.refreshMu.Unlock()
	var list []api.Process
	if err := s.cfg.Caller.Call(s.ctx, api.MethodList, nil, &list); err != nil {
		if s.ctx.Err() == nil {
			s.mu.Lock()
			if m := err.Error(); m != s.listErr {
				s.listErr = m
				s.cfg.Log.Printf("dbus: read the process list: %v", err)
			}
			s.mu.Unlock()
		}
		return
	}
	s.apply(list)
}

// signal is one signal to emit.
type signal struct {
	path dbus.ObjectPath
	name string
	args []any
}

func processPath(id int) dbus.ObjectPath {
	return dbus.ObjectPath(ProcessPrefix + "/" + strconv.Itoa(id))
}

// apply brings the mirror to list and emits what changed: InterfacesAdded and InterfacesRemoved for processes that
// came and went, PropertiesChanged for the others and for the manager's counts.
func (s *session) apply(list []api.Process) {
	now := time.Now()
	s.mu.Lock()
	s.listErr = ""
	var sigs []signal
	seen := make(map[int]bool, len(list))
	var online uint32
	nBefore := len(s.procs)
	for i := range list {
		p := &list[i]
		seen[p.ID] = true
		if p.Status == api.StatusOnline {
			online++
		}
		props := processProps(p)
		path := processPath(p.ID)
		e, ok := s.procs[p.ID]
		if ok && (e.props["Name"].Value() != props["Name"].Value() ||
			e.props["CreatedTimestamp"].Value() != props["CreatedTimestamp"].Value()) {
			// The id was given to another process: its constant properties are not this one's.
			sigs = append(sigs, removed(path))
			ok = false
		}
		if !ok {
			e = &entry{props: props, sampleSent: now}
			for j, k := range sampleProps {
				e.sent[j] = props[k].Value()
			}
			s.procs[p.ID] = e
			sigs = append(sigs, added(path, props))
			continue
		}
		changed := map[string]dbus.Variant{}
		for k, v := range props {
			if !isSampleProp(k) && e.props[k].Value() != v.Value() {
				changed[k] = v
			}
		}
		e.props = props
		s.sampleChanges(e, now, changed)
		if len(changed) > 0 {
			sigs = append(sigs, propsChanged(path, ProcessIf, changed))
		}
	}
	for id := range s.procs {
		if !seen[id] {
			delete(s.procs, id)
			sigs = append(sigs, removed(processPath(id)))
		}
	}
	mc := map[string]dbus.Variant{}
	if len(s.procs) != nBefore {
		mc["NProcesses"] = dbus.MakeVariant(uint32(len(s.procs)))
	}
	if online != s.nOnline {
		s.nOnline = online
		mc["NOnline"] = dbus.MakeVariant(online)
	}
	if len(mc) > 0 {
		sigs = append(sigs, propsChanged(ManagerPath, ManagerIf, mc))
	}
	s.emitMu.Lock()
	s.mu.Unlock()
	s.emit(sigs)
	s.emitMu.Unlock()
}

func isSampleProp(k string) bool {
	return k == sampleProps[0] || k == sampleProps[1] || k == sampleProps[2]
}

// sampleChanges adds e's sample properties to changed when they changed since they were last sent and
// Config.SampleSignals has passed since then. Runs under mu.
func (s *session) sampleChanges(e *entry, now time.Time, changed map[string]dbus.Variant) {
	if now.Sub(e.sampleSent) < s.cfg.SampleSignals {
		return
	}
	diff := false
	for j, k := range sampleProps {
		if e.props[k].Value() != e.sent[j] {
			diff = true
		}
	}
	if !diff {
		return
	}
	for j, k := range sampleProps {
		changed[k] = e.props[k]
		e.sent[j] = e.props[k].Value()
	}
	e.sampleSent = now
}

// sample takes one EventSample into the mirror. A process the mirror does not know, or whose pid changed, asks for
// a full read: a state change is on its way or was lost.
func (s *session) sample(samples []api.Sample) {
	now := time.Now()
	var sigs []signal
	refresh := false
	s.mu.Lock()
	for _, sm := range samples {
		e, ok := s.procs[sm.ID]
		if !ok {
			refresh = true
			continue
		}
		if e.props["PID"].Value() != uint32(sm.PID) {
			refresh = true
		}
		// A new map: the old one may be in a signal not sent yet, or in a reply being encoded.
		props := make(map[string]dbus.Variant, len(e.props))
		for k, v := range e.props {
			props[k] = v
		}
		setSample(props, sm.CPUSeconds, sm.CPU, sm.Memory)
		e.props = props
		changed := map[string]dbus.Variant{}
		s.sampleChanges(e, now, changed)
		if len(changed) > 0 {
			sigs = append(sigs, propsChanged(processPath(sm.ID), ProcessIf, changed))
		}
	}
	s.emitMu.Lock()
	s.mu.Unlock()
	s.emit(sigs)
	s.emitMu.Unlock()
	if refresh {
		s.askRefresh()
	}
}

// emit sends sigs in order; a failure means the connection is going, which ends the session.
func (s *session) emit(sigs []signal) {
	for _, sg := range sigs {
		if err := s.conn.Emit(sg.path, sg.name, sg.args...); err != nil {
			return
		}
	}
}

func added(path dbus.ObjectPath, props map[string]dbus.Variant) signal {
	return signal{ManagerPath, "org.freedesktop.DBus.ObjectManager.InterfacesAdded",
		[]any{path, map[string]map[string]dbus.Variant{ProcessIf: props}}}
}

func removed(path dbus.ObjectPath) signal {
	return signal{ManagerPath, "org.freedesktop.DBus.ObjectManager.InterfacesRemoved", []any{path, []string{ProcessIf}}}
}

func propsChanged(path dbus.ObjectPath, iface string, changed map[string]dbus.Variant) signal {
	return signal{path, "org.freedesktop.DBus.Properties.PropertiesChanged", []any{iface, changed, []string{}}}
}

// lookup returns process id's properties (not to be changed), reading the list first when the mirror does not know it (a
// process that a call or the CLI just started, whose event has not come yet).
func (s *session) lookup(id int) (map[string]dbus.Variant, bool) {
	for try := 0; ; try++ {
		s.mu.Lock()
		e, ok := s.procs[id]
		var props map[string]dbus.Variant
		if ok {
			props = e.props
		}
		s.mu.Unlock()
		if ok || try > 0 {
			return props, ok
		}
		s.refresh()
	}
}
