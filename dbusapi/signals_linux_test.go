package dbusapi_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/gpmd/gpm/api"
	"github.com/gpmd/gpm/config"
	"github.com/gpmd/gpm/dbusapi"
)

// signals subscribes c to the service's ObjectManager and PropertiesChanged signals.
func signals(t *testing.T, c *dbus.Conn) chan *dbus.Signal {
	t.Helper()
	for _, opts := range [][]dbus.MatchOption{
		{dbus.WithMatchObjectPath(dbusapi.ManagerPath), dbus.WithMatchInterface("org.freedesktop.DBus.ObjectManager")},
		{dbus.WithMatchPathNamespace(dbusapi.ManagerPath), dbus.WithMatchInterface("org.freedesktop.DBus.Properties"),
			dbus.WithMatchMember("PropertiesChanged")},
	} {
		if err := c.AddMatchSignal(opts...); err != nil {
			t.Fatalf("AddMatchSignal: %v", err)
		}
	}
	ch := make(chan *dbus.Signal, 4096)
	c.Signal(ch)
	return ch
}

// next returns the first signal that match accepts, failing the test after timeout.
func next(t *testing.T, ch chan *dbus.Signal, timeout time.Duration, what string, match func(*dbus.Signal) bool) *dbus.Signal {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case s := <-ch:
			if match(s) {
				return s
			}
		case <-deadline:
			t.Fatalf("no signal within %v: %s", timeout, what)
		}
	}
}

// changed returns the properties a PropertiesChanged signal of iface carries, or nil for another signal.
func changed(s *dbus.Signal, path dbus.ObjectPath, iface string) map[string]dbus.Variant {
	if s.Name != "org.freedesktop.DBus.Properties.PropertiesChanged" || s.Path != path || len(s.Body) != 3 {
		return nil
	}
	if i, _ := s.Body[0].(string); i != iface {
		return nil
	}
	m, _ := s.Body[1].(map[string]dbus.Variant)
	return m
}

// A godbus client sees a process come (InterfacesAdded, the manager's NProcesses), crash and restart
// (PropertiesChanged with its exit code and restarts), and go (InterfacesRemoved), all started by the control
// socket as the CLI would: the signals follow the daemon's events, not only D-Bus calls.
func TestDBusSignalsOnStartAndCrash(t *testing.T) {
	_, d, c := setup(t, "")
	ch := signals(t, c)
	ctx := context.Background()
	// The restart delay is long enough for the exit to be seen before the restart on a loaded machine.
	crasher := appWith(t, func(a *config.App) { a.RestartDelay = config.Millis(2000) }, "crasher", "/bin/sh", "-c", "sleep 0.5; exit 3")
	started, err := d.c.StartWith(ctx, api.StartParams{Apps: []api.StartApp{crasher}})
	if err != nil || len(started) != 1 {
		t.Fatalf("start: %v %+v", err, started)
	}
	path := dbus.ObjectPath(dbusapi.ProcessPrefix + "/0")
	s := next(t, ch, 30*time.Second, "InterfacesAdded for "+string(path), func(s *dbus.Signal) bool {
		return s.Name == "org.freedesktop.DBus.ObjectManager.InterfacesAdded" && len(s.Body) == 2 && s.Body[0] == path
	})
	ifaces, _ := s.Body[1].(map[string]map[string]dbus.Variant)
	if name := ifaces[dbusapi.ProcessIf]["Name"].Value(); name != "crasher" {
		t.Fatalf("InterfacesAdded carries %v, want the properties of crasher", s.Body[1])
	}
	next(t, ch, 30*time.Second, "PropertiesChanged NProcesses 1 on the manager", func(s *dbus.Signal) bool {
		m := changed(s, dbusapi.ManagerPath, dbusapi.ManagerIf)
		return m != nil && m["NProcesses"].Value() == uint32(1)
	})
	next(t, ch, 30*time.Second, "PropertiesChanged with ExitCode 3 after the crash", func(s *dbus.Signal) bool {
		m := changed(s, path, dbusapi.ProcessIf)
		return m != nil && m["ExitCode"].Value() == int32(3)
	})
	s = next(t, ch, 30*time.Second, "PropertiesChanged with Restarts 1", func(s *dbus.Signal) bool {
		r, _ := changed(s, path, dbusapi.ProcessIf)["Restarts"].Value().(uint32)
		return r >= 1
	})
	t.Logf("after the crash: %v", s.Body[1])

	if _, err := d.c.Delete(ctx, "crasher"); err != nil {
		t.Fatal(err)
	}
	next(t, ch, 30*time.Second, "InterfacesRemoved for "+string(path), func(s *dbus.Signal) bool {
		return s.Name == "org.freedesktop.DBus.ObjectManager.InterfacesRemoved" && len(s.Body) == 2 && s.Body[0] == path
	})
	var objects map[dbus.ObjectPath]map[string]map[string]dbus.Variant
	if err := manager(c).Call("org.freedesktop.DBus.ObjectManager.GetManagedObjects", 0).Store(&objects); err != nil || len(objects) != 0 {
		t.Fatalf("GetManagedObjects after the delete: %v %v", err, objects)
	}
}

// A long call (a Stop that waits for kill_timeout, as a Reload of many workers waits for each) returns when it is
// done, and other callers are served meanwhile.
func TestDBusLongCallDoesNotBlockOthers(t *testing.T) {
	b, d, c := setup(t, "")
	ctx := context.Background()
	stubborn := appWith(t, func(a *config.App) { a.KillTimeout = config.Millis(15000) }, "stubborn", "/bin/sh", "-c",
		`trap "" INT TERM; while :; do sleep 0.2; done`)
	if _, err := d.c.StartWith(ctx, api.StartParams{Apps: []api.StartApp{stubborn}}); err != nil {
		t.Fatal(err)
	}
	proc := c.Object(dbusapi.BusName, dbusapi.ProcessPrefix+"/0")
	waitFor(t, 30*time.Second, "stubborn is online", func() bool {
		v, err := proc.GetProperty(dbusapi.ProcessIf + ".Status")
		return err == nil && v.Value() == api.StatusOnline
	})
	other := connect(t, b.addr)
	begun := time.Now()
	stop := manager(c).Go(dbusapi.ManagerIf+".Stop", 0, make(chan *dbus.Call, 1), []string{"stubborn"})
	waitFor(t, 30*time.Second, "stubborn is stopping", func() bool {
		v, err := other.Object(dbusapi.BusName, dbusapi.ProcessPrefix+"/0").GetProperty(dbusapi.ProcessIf + ".Status")
		return err == nil && v.Value() == api.StatusStopping
	})
	t0 := time.Now()
	rows := listProcesses(t, other)
	took := time.Since(t0)
	select {
	case call := <-stop.Done:
		t.Fatalf("Stop returned (%v) before ListProcesses could be shown to run beside it", call.Err)
	default:
	}
	if len(rows) != 1 || rows[0].Status != api.StatusStopping {
		t.Fatalf("ListProcesses during the Stop: %+v", rows)
	}
	t.Logf("ListProcesses during a long Stop took %v", took)
	select {
	case call := <-stop.Done:
		if call.Err != nil {
			t.Fatalf("Stop: %v", call.Err)
		}
		t.Logf("Stop returned after %v (kill_timeout 15 s: long, so that a loaded machine still sees it stopping)", time.Since(begun))
	case <-time.After(60 * time.Second):
		t.Fatalf("Stop did not return within 60 s")
	}
	v, err := proc.GetProperty(dbusapi.ProcessIf + ".Status")
	if err != nil || v.Value() != api.StatusStopped {
		t.Fatalf("after Stop returned: %v %v, want stopped", err, v)
	}
}

// When the bus goes away (dbus restarted), the daemon connects again and owns the name again.
func TestDBusReconnect(t *testing.T) {
	b, d, c := setup(t, "")
	if _, err := d.c.StartWith(context.Background(), api.StartParams{Apps: []api.StartApp{app(t, "sleeper", "/bin/sleep", "60")}}); err != nil {
		t.Fatal(err)
	}
	c.Close()
	b.stop()
	b.start(t)
	c = connect(t, b.addr)
	waitOwned(t, c)
	if rows := listProcesses(t, c); len(rows) != 1 || rows[0].Name != "sleeper" {
		t.Fatalf("ListProcesses after the bus came back: %+v", rows)
	}
	waitFor(t, 30*time.Second, "the daemon logs the loss", func() bool { return strings.Contains(d.log.String(), "dbus: lost the bus") })
}

// With no session bus the daemon serves its socket as ever and says so in one log line.
func TestDBusNoBus(t *testing.T) {
	requireTools(t)
	d := runDaemon(t, dbusapi.AddressEnv+"=", "DBUS_SESSION_BUS_ADDRESS=", "XDG_RUNTIME_DIR="+t.TempDir())
	waitFor(t, 30*time.Second, "the daemon logs that there is no bus", func() bool {
		return strings.Contains(d.log.String(), "dbus: no session bus")
	})
	if _, err := d.c.StartWith(context.Background(), api.StartParams{Apps: []api.StartApp{app(t, "sleeper", "/bin/sleep", "60")}}); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(d.log.String(), "dbus:"); n != 1 {
		t.Fatalf("%d dbus lines in the log, want 1:\n%s", n, d.log.String())
	}
}

// A second daemon on the same bus finds the name taken, says so once, and takes the name when the first one stops.
func TestDBusNameTakenThenFree(t *testing.T) {
	b, first, c := setup(t, "")
	second := runDaemon(t, dbusapi.AddressEnv+"="+b.addr)
	waitFor(t, 30*time.Second, "the second daemon logs that the name is taken", func() bool {
		return strings.Contains(second.log.String(), "is taken")
	})
	if _, err := second.c.StartWith(context.Background(), api.StartParams{Apps: []api.StartApp{app(t, "second", "/bin/sleep", "60")}}); err != nil {
		t.Fatal(err)
	}
	if err := first.c.Kill(context.Background()); err != nil {
		t.Fatalf("kill the first daemon: %v", err)
	}
	waitFor(t, 60*time.Second, "the second daemon serves the name", func() bool {
		var rows []row
		err := manager(c).Call(dbusapi.ManagerIf+".ListProcesses", 0).Store(&rows)
		return err == nil && len(rows) == 1 && rows[0].Name == "second"
	})
	if n := strings.Count(second.log.String(), "is taken"); n != 1 {
		t.Errorf("the second daemon logged the taken name %d times, want once:\n%s", n, second.log.String())
	}
}

// MemoryCurrent and the cpu figures follow every sample through Get, while their PropertiesChanged are spaced by
// dbusapi.DefaultSampleSignals (10 s) per process.
func TestDBusSampleSignalsSpaced(t *testing.T) {
	_, d, c := setup(t, "")
	ch := signals(t, c)
	// A process whose cpu time grows (it forks a sleep every 100 ms): its figures differ from one sample to the next
	// whenever the mirror first read them (on a loaded machine that read may come after the first sample, and a
	// plain sleep's figures never change after it), so a signal is due once the spacing allows.
	if _, err := d.c.StartWith(context.Background(), api.StartParams{Apps: []api.StartApp{app(t, "ticking", "/bin/sh", "-c", "while :; do sleep 0.1; done")}}); err != nil {
		t.Fatal(err)
	}
	path := dbus.ObjectPath(dbusapi.ProcessPrefix + "/0")
	next(t, ch, 30*time.Second, "InterfacesAdded", func(s *dbus.Signal) bool {
		return s.Name == "org.freedesktop.DBus.ObjectManager.InterfacesAdded" && len(s.Body) == 2 && s.Body[0] == path
	})
	added := time.Now()
	waitFor(t, 30*time.Second, "MemoryCurrent > 0 through Get", func() bool {
		v, err := c.Object(dbusapi.BusName, path).GetProperty(dbusapi.ProcessIf + ".MemoryCurrent")
		m, _ := v.Value().(uint64)
		return err == nil && m > 0
	})
	s := next(t, ch, 60*time.Second, "a PropertiesChanged with MemoryCurrent", func(s *dbus.Signal) bool {
		_, ok := changed(s, path, dbusapi.ProcessIf)["MemoryCurrent"]
		return ok
	})
	if after := time.Since(added); after < dbusapi.DefaultSampleSignals-time.Second {
		t.Fatalf("the first sample signal came %v after the process appeared, want about %v: %v", after, dbusapi.DefaultSampleSignals, s.Body[1])
	} else {
		t.Logf("first sample signal %v after the process appeared: %v", after, s.Body[1])
	}
}
