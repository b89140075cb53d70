package dbusapi

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/gpmd/gpm/api"
	"github.com/gpmd/gpm/config/procfile"
)

// export puts the manager and the process subtree on the connection. Each method is a closure over the session;
// godbus calls it in a goroutine of its own, with the arguments decoded by the signature of its parameters.
func (s *session) export() error {
	manager := map[string]any{
		"ListProcesses": s.listProcesses,
		"GetProcess":    s.getProcess,
		"Start":         s.startFile,
		"Stop":          s.targets(api.MethodStop),
		"Restart":       s.targets(api.MethodRestart),
		"Reload":        s.targets(api.MethodReload),
		"Delete":        s.targets(api.MethodDelete),
		"Reset":         s.targets(api.MethodReset),
		"Scale":         s.scale,
		"Signal":        s.signal,
		"Save":          s.save,
		"Resurrect":     s.resurrect,
	}
	managerProps := map[string]any{
		"Get":    s.managerGet,
		"GetAll": s.managerGetAll,
		"Set":    setProperty,
	}
	process := map[string]any{
		"Stop":    s.processOp(api.MethodStop),
		"Restart": s.processOp(api.MethodRestart),
		"Reload":  s.processOp(api.MethodReload),
	}
	processProps := map[string]any{
		"Get":    s.processGet,
		"GetAll": s.processGetAll,
		"Set":    setProperty,
	}
	for _, e := range []struct {
		methods map[string]any
		path    dbus.ObjectPath
		iface   string
		subtree bool
	}{
		{manager, ManagerPath, ManagerIf, false},
		{managerProps, ManagerPath, "org.freedesktop.DBus.Properties", false},
		{map[string]any{"Introspect": s.managerIntrospect}, ManagerPath, "org.freedesktop.DBus.Introspectable", false},
		{map[string]any{"GetManagedObjects": s.managedObjects}, ManagerPath, "org.freedesktop.DBus.ObjectManager", false},
		{process, ProcessPrefix, ProcessIf, true},
		{processProps, ProcessPrefix, "org.freedesktop.DBus.Properties", true},
		{map[string]any{"Introspect": s.processIntrospect}, ProcessPrefix, "org.freedesktop.DBus.Introspectable", true},
	} {
		var err error
		if e.subtree {
			err = s.conn.ExportSubtreeMethodTable(e.methods, e.path, e.iface)
		} else {
			err = s.conn.ExportMethodTable(e.methods, e.path, e.iface)
		}
		if err != nil {
			return fmt.Errorf("export %s on %s: %w", e.iface, e.path, err)
		}
	}
	return nil
}

// listProcesses answers from the mirror, which follows the daemon's events (caughtUp): a read of the daemon's list
// would cost a JSON round trip of every process's whole configuration, twice what the control socket's list costs
// (bench/dbus.sh).
func (s *session) listProcesses() ([]row, *dbus.Error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	s.caughtUp()
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]row, 0, len(s.procs))
	for _, id := range s.sortedIDs() {
		out = append(out, mirrorRow(id, s.procs[id].props, now))
	}
	return out, nil
}

// caughtUp brings the mirror up to the events that have reached the service: an event waiting for the refresher
// is read now, and a refresh under way (the refresher took the event) is waited for.
func (s *session) caughtUp() {
	select {
	case <-s.kick:
		s.refresh()
	default:
		s.refreshMu.Lock()
		s.refreshMu.Unlock()
	}
}

// getProcess finds a process by id, or the first instance (lowest id) of an app by name, in the mirror, read
// again when it is not there (a process started a moment ago).
func (s *session) getProcess(ref string) (dbus.ObjectPath, *dbus.Error) {
	if err := s.enter(); err != nil {
		return "", err
	}
	defer s.leave()
	s.caughtUp()
	id, err := strconv.Atoi(ref)
	isID := err == nil
	find := func() int {
		s.mu.Lock()
		defer s.mu.Unlock()
		if isID {
			if _, ok := s.procs[id]; ok {
				return id
			}
			return -1
		}
		for _, id := range s.sortedIDs() {
			if s.procs[id].props["Name"].Value() == ref {
				return id
			}
		}
		return -1
	}
	found := find()
	if found < 0 {
		s.refresh()
		found = find()
	}
	if found < 0 {
		return "", newError("NotFound", fmt.Sprintf("process or app %q not found", ref))
	}
	return processPath(found), nil
}

// change runs a state-changing method for sender, then brings the mirror up to date before the reply goes out,
// so that a caller sees the InterfacesAdded or PropertiesChanged of its own call first.
func (s *session) change(sender dbus.Sender, method string, params, result any) *dbus.Error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	if err := s.authorize(sender); err != nil {
		return err
	}
	return s.callRefresh(method, params, result)
}

// callRefresh is change's call once the caller is admitted (and inside enter).
func (s *session) callRefresh(method string, params, result any) *dbus.Error {
	err := s.cfg.Caller.Call(s.ctx, method, params, result)
	s.refresh()
	if err != nil {
		return toError(err)
	}
	return nil
}

func checkTargets(targets []string) *dbus.Error {
	if len(targets) == 0 {
		return newError("InvalidArgument", "no targets: give ids, names, namespaces or \"all\"")
	}
	if len(targets) > maxTargets {
		return newError("InvalidArgument", fmt.Sprintf("%d targets; at most %d in one call (api.MaxProcesses)", len(targets), maxTargets))
	}
	return nil
}

// targets is a manager method that takes targets (as): Stop, Restart, Reload, Delete, Reset.
func (s *session) targets(method string) func(dbus.Sender, []string) ([]row, *dbus.Error) {
	return func(sender dbus.Sender, targets []string) ([]row, *dbus.Error) {
		if err := checkTargets(targets); err != nil {
			return nil, err
		}
		var out []api.Process
		if err := s.change(sender, method, targetParams(method, targets), &out); err != nil {
			return nil, err
		}
		return rows(out), nil
	}
}

// targetParams are the control method's parameters for targets.
func targetParams(method string, targets []string) any {
	switch method {
	case api.MethodRestart:
		return api.RestartParams{Targets: targets}
	case api.MethodReload:
		return api.ReloadParams{Targets: targets}
	}
	return api.Targets{Targets: targets}
}

// startFile starts the apps of a process file given as JSON text, parsed as the CLI parses a .json file (JSON5).
// Relative paths in it resolve against "/": the caller's directory means nothing to the daemon. The apps are
// checked as `gpm start` checks them (script, cwd and interpreter exist) before any starts; the caller is
// admitted first, since those checks look at files as the daemon's user (root), and their errors would tell a
// caller who may not control the daemon whether a file exists where it cannot look.
func (s *session) startFile(sender dbus.Sender, text string) ([]row, []string, *dbus.Error) {
	if len(text) > api.MaxRequest {
		return nil, nil, newError("InvalidArgument", fmt.Sprintf("process file of %d bytes is over the limit of %d bytes (api.MaxRequest)",
			len(text), api.MaxRequest))
	}
	if err := s.enter(); err != nil {
		return nil, nil, err
	}
	defer s.leave()
	if err := s.authorize(sender); err != nil {
		return nil, nil, err
	}
	f, err := procfile.Parse("process-file.json", []byte(text), "/", procfile.LoadOptions{})
	if err != nil {
		return nil, nil, newError("InvalidArgument", err.Error())
	}
	if err := f.CheckRunnable(os.Getenv("PATH")); err != nil {
		return nil, nil, newError("InvalidArgument", err.Error())
	}
	apps := make([]api.StartApp, 0, len(f.Apps))
	for _, a := range f.Apps {
		apps = append(apps, api.StartApp{App: a})
	}
	var out []api.Process
	if err := s.callRefresh(api.MethodStart, api.StartParams{Apps: apps}, &out); err != nil {
		return nil, nil, err
	}
	return rows(out), append([]string{}, f.Warnings...), nil
}

func (s *session) scale(sender dbus.Sender, name string, count int32) ([]row, *dbus.Error) {
	var out []api.Process
	if err := s.change(sender, api.MethodScale, api.ScaleParams{Name: name, Count: int(count)}, &out); err != nil {
		return nil, err
	}
	return rows(out), nil
}

func (s *session) signal(sender dbus.Sender, targets []string, sig string) ([]row, *dbus.Error) {
	if err := checkTargets(targets); err != nil {
		return nil, err
	}
	var out []api.Process
	if err := s.change(sender, api.MethodSignal, api.SignalParams{Signal: sig, Targets: targets}, &out); err != nil {
		return nil, err
	}
	return rows(out), nil
}

func (s *session) save(sender dbus.Sender, force bool) (string, uint32, uint32, *dbus.Error) {
	var r api.SaveResult
	if err := s.change(sender, api.MethodSave, api.SaveParams{Force: force}, &r); err != nil {
		return "", 0, 0, err
	}
	return r.Path, uint32(r.Apps), uint32(r.Procs), nil
}

func (s *session) resurrect(sender dbus.Sender) (string, []string, []string, []string, string, *dbus.Error) {
	var r api.ResurrectResult
	if err := s.change(sender, api.MethodResurrect, api.StartParams{}, &r); err != nil {
		return "", nil, nil, nil, "", err
	}
	nonNil := func(v []string) []string { return append([]string{}, v...) }
	return r.Source, nonNil(r.Started), nonNil(r.Stopped), nonNil(r.Skipped), r.Warning, nil
}

func setProperty(iface, name string, _ dbus.Variant) *dbus.Error {
	return &dbus.Error{Name: "org.freedesktop.DBus.Error.PropertyReadOnly",
		Body: []any{fmt.Sprintf("property %s.%s is read-only: use the methods", iface, name)}}
}

func unknownProperty(iface, name string) *dbus.Error {
	return &dbus.Error{Name: "org.freedesktop.DBus.Error.UnknownProperty",
		Body: []any{fmt.Sprintf("no property %s on interface %s", name, iface)}}
}

func unknownInterface(iface string) *dbus.Error {
	return &dbus.Error{Name: "org.freedesktop.DBus.Error.UnknownInterface",
		Body: []any{fmt.Sprintf("the object has no interface %s with properties", iface)}}
}

func (s *session) managerProps() map[string]dbus.Variant {
	s.mu.Lock()
	defer s.mu.Unlock()
	return map[string]dbus.Variant{
		"Version":    dbus.MakeVariant(s.version),
		"NProcesses": dbus.MakeVariant(uint32(len(s.procs))),
		"NOnline":    dbus.MakeVariant(s.nOnline),
	}
}

func (s *session) managerGetAll(iface string) (map[string]dbus.Variant, *dbus.Error) {
	switch iface {
	case ManagerIf, "":
		return s.managerProps(), nil
	case "org.freedesktop.DBus.ObjectManager":
		return map[string]dbus.Variant{}, nil
	}
	return noProperties(iface)
}

// noProperties answers GetAll of an interface without properties: empty for the standard ones every object has,
// as the specification asks, an error for the others.
func noProperties(iface string) (map[string]dbus.Variant, *dbus.Error) {
	switch iface {
	case "org.freedesktop.DBus.Properties", "org.freedesktop.DBus.Introspectable", "org.freedesktop.DBus.Peer":
		return map[string]dbus.Variant{}, nil
	}
	return nil, unknownInterface(iface)
}

func (s *session) managerGet(iface, name string) (dbus.Variant, *dbus.Error) {
	props, err := s.managerGetAll(iface)
	if err != nil {
		return dbus.Variant{}, err
	}
	v, ok := props[name]
	if !ok {
		return dbus.Variant{}, unknownProperty(iface, name)
	}
	return v, nil
}

func (s *session) managerIntrospect() (string, *dbus.Error) {
	return doctype + "<node>\n" + managerIfaceXML + standardIfacesXML + objectManagerXML +
		"  <node name=\"process\"/>\n</node>\n", nil
}

// managedObjects answers GetManagedObjects from the mirror, read again first.
func (s *session) managedObjects() (map[dbus.ObjectPath]map[string]map[string]dbus.Variant, *dbus.Error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	s.refresh()
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[dbus.ObjectPath]map[string]map[string]dbus.Variant, len(s.procs))
	for id, e := range s.procs {
		out[processPath(id)] = map[string]map[string]dbus.Variant{ProcessIf: e.props}
	}
	return out, nil
}

// ids are the processes in the mirror, in order.
func (s *session) ids() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sortedIDs()
}

// sortedIDs is ids under mu.
func (s *session) sortedIDs() []int {
	ids := make([]int, 0, len(s.procs))
	for id := range s.procs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}
