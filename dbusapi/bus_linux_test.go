package dbusapi_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/gpmd/gpm/api"
	"github.com/gpmd/gpm/client"
	"github.com/gpmd/gpm/config"
	"github.com/gpmd/gpm/dbusapi"
	"github.com/gpmd/gpm/service"
)

// The tests run a private dbus-daemon configured like a system bus (Debian's system.conf defaults) that includes
// the policy gpm ships, and a real gpm daemon (service.New, Run) pointed at it with GPM_DBUS_ADDRESS. They drive it
// with busctl, gdbus and dbus-send as root and, through setpriv, as nobody, and with a godbus client.

// bus is a private dbus-daemon.
type bus struct {
	addr string
	dir  string // 0755, so that nobody reaches the socket
	conf string
	cmd  *exec.Cmd
}

func requireTools(t *testing.T, tools ...string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: the bus policy and the daemon's check are tested as root and as nobody")
	}
	for _, tool := range append([]string{"dbus-daemon", "busctl", "setpriv"}, tools...) {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s: %v", tool, err)
		}
	}
}

// startBus starts a system-like bus with the shipped policy and extra (more <policy> elements, after it).
func startBus(t *testing.T, extra string) *bus {
	t.Helper()
	dir, err := os.MkdirTemp("", "gpm-dbus-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	shipped, err := filepath.Abs(filepath.Join("..", "init", "io.gpm.Manager1.conf"))
	if err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "bus.conf")
	err = os.WriteFile(conf, []byte(fmt.Sprintf(`<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=%s/system_bus_socket</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Properties"/>
  </policy>
  <include>%s</include>
  %s
</busconfig>
`, dir, shipped, extra)), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	b := &bus{dir: dir, conf: conf}
	b.start(t)
	return b
}

func (b *bus) start(t *testing.T) {
	t.Helper()
	cmd := exec.Command("dbus-daemon", "--nofork", "--nopidfile", "--print-address=1", "--config-file="+b.conf)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("dbus-daemon: %v", err)
	}
	b.cmd = cmd
	t.Cleanup(b.stop)
	addr, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("dbus-daemon printed no address: %v\n%s", err, stderr.String())
	}
	b.addr = strings.TrimSpace(addr)
}

// stop ends the bus by its pid.
func (b *bus) stop() {
	if b.cmd != nil {
		b.cmd.Process.Signal(syscall.SIGTERM)
		b.cmd.Wait()
		b.cmd = nil
	}
}

// syncBuffer collects the daemon's log.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// daemonEnv, set to "1", makes the test binary a gpm daemon (TestMain): the daemon is a subreaper that reaps every
// child of its process, so it cannot share one with a test that runs busctl.
const daemonEnv = "GPM_DBUSAPI_TEST_DAEMON"

func TestMain(m *testing.M) {
	if os.Getenv(daemonEnv) == "1" {
		d := service.New(service.Options{Home: os.Getenv(api.HomeEnv), Version: "test",
			SampleInterval: 100 * time.Millisecond, Log: os.Stderr})
		if err := d.Run(context.Background()); err != nil { // until SIGTERM
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// daemon is a real gpm daemon (service.New, Run) in a process of its own and a private GPM_HOME.
type daemon struct {
	home string
	cmd  *exec.Cmd
	log  *syncBuffer
	c    *client.Client
}

// runDaemon starts a daemon with env added to the test's environment, and waits until it answers on its socket.
func runDaemon(t *testing.T, env ...string) *daemon {
	t.Helper()
	home, err := os.MkdirTemp("", "gpm-dbusapi-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(home) })
	d := &daemon{home: home, log: &syncBuffer{}}
	d.cmd = exec.Command(os.Args[0], "-test.run=^$")
	d.cmd.Env = append(os.Environ(), append([]string{daemonEnv + "=1", api.HomeEnv + "=" + home}, env...)...)
	d.cmd.Stdout, d.cmd.Stderr = d.log, d.log
	if err := d.cmd.Start(); err != nil {
		t.Fatalf("start the daemon: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- d.cmd.Wait() }()
	t.Cleanup(func() {
		if d.c != nil {
			d.c.Close()
		}
		d.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("the daemon exited with %v", err)
			}
		case <-time.After(30 * time.Second):
			d.cmd.Process.Kill()
			<-exited
			t.Errorf("the daemon did not exit within 30 s of SIGTERM")
		}
		if t.Failed() || strings.Contains(d.log.String(), "DATA RACE") {
			t.Errorf("daemon log:\n%s", d.log.String())
		}
	})
	waitFor(t, 30*time.Second, "the daemon answers on its socket", func() bool {
		c, err := client.Dial(context.Background(), home)
		if err != nil {
			return false
		}
		if err := c.Ping(context.Background()); err != nil {
			c.Close()
			return false
		}
		d.c = c
		return true
	})
	return d
}

// waitFor polls cond until it holds, failing the test after timeout.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting until %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// setup starts a bus (with extra policy) and a daemon serving on it, and waits until the daemon owns the name.
func setup(t *testing.T, extra string, env ...string) (*bus, *daemon, *dbus.Conn) {
	t.Helper()
	requireTools(t)
	b := startBus(t, extra)
	d := runDaemon(t, append([]string{dbusapi.AddressEnv + "=" + b.addr}, env...)...)
	c := connect(t, b.addr)
	waitOwned(t, c)
	return b, d, c
}

func connect(t *testing.T, addr string) *dbus.Conn {
	t.Helper()
	c, err := dbus.Connect(addr)
	if err != nil {
		t.Fatalf("connect to the test bus: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func waitOwned(t *testing.T, c *dbus.Conn) {
	t.Helper()
	waitFor(t, 30*time.Second, "the daemon owns "+dbusapi.BusName, func() bool {
		var has bool
		err := c.BusObject().Call("org.freedesktop.DBus.NameHasOwner", 0, dbusapi.BusName).Store(&has)
		return err == nil && has
	})
}

// run runs a command, as nobody when asked, and returns its combined output.
func run(t *testing.T, asNobody bool, name string, args ...string) (string, error) {
	t.Helper()
	if asNobody {
		args = append([]string{"--reuid=nobody", "--regid=nogroup", "--clear-groups", name}, args...)
		name = "setpriv"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

func busctl(t *testing.T, b *bus, asNobody bool, args ...string) (string, error) {
	t.Helper()
	return run(t, asNobody, "busctl", append([]string{"--address=" + b.addr}, args...)...)
}

func manager(c *dbus.Conn) dbus.BusObject { return c.Object(dbusapi.BusName, dbusapi.ManagerPath) }

// row is one ListProcesses entry, as a godbus client decodes it.
type row struct {
	ID        uint32
	Name      string
	Namespace string
	Status    string
	PID       uint32
	Restarts  uint32
	CPU       float64
	Memory    uint64
	Uptime    uint64
	Path      dbus.ObjectPath
}

func listProcesses(t *testing.T, c *dbus.Conn) []row {
	t.Helper()
	var rows []row
	if err := manager(c).Call(dbusapi.ManagerIf+".ListProcesses", 0).Store(&rows); err != nil {
		t.Fatalf("ListProcesses: %v", err)
	}
	return rows
}

func startJSON(name, script string, args ...string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = fmt.Sprintf("%q", a)
	}
	return fmt.Sprintf(`{"apps": [{"name": %q, "script": %q, "args": [%s]}]}`, name, script, strings.Join(q, ", "))
}

// As root, busctl and gdbus reach everything: Start with a process file, ListProcesses, GetProcess, the process's
// properties, introspection (the same interfaces as init/io.gpm.Manager1.xml, and the process objects as children),
// Stop; errors come back named.
func TestDBusRootCalls(t *testing.T) {
	requireTools(t, "gdbus")
	b, _, c := setup(t, "")

	out, err := busctl(t, b, false, "call", dbusapi.BusName, dbusapi.ManagerPath, dbusapi.ManagerIf, "Start", "s",
		startJSON("sleeper", "/bin/sleep", "60"))
	if err != nil || !strings.Contains(out, `"sleeper"`) {
		t.Fatalf("busctl call Start: %v\n%s", err, out)
	}
	out, err = busctl(t, b, false, "call", dbusapi.BusName, dbusapi.ManagerPath, dbusapi.ManagerIf, "ListProcesses")
	if err != nil || !strings.HasPrefix(out, "a(usssuudtto) 1 0 \"sleeper\"") || !strings.Contains(out, `"/io/gpm/Manager1/process/0"`) {
		t.Fatalf("busctl call ListProcesses: %v\n%s", err, out)
	}
	t.Logf("busctl call ListProcesses: %s", out)
	out, err = busctl(t, b, false, "call", dbusapi.BusName, dbusapi.ManagerPath, dbusapi.ManagerIf, "GetProcess", "s", "sleeper")
	if err != nil || out != `o "/io/gpm/Manager1/process/0"` {
		t.Fatalf("busctl call GetProcess: %v\n%s", err, out)
	}
	waitFor(t, 30*time.Second, "the process is online", func() bool {
		out, _ := busctl(t, b, false, "get-property", dbusapi.BusName, "/io/gpm/Manager1/process/0", dbusapi.ProcessIf, "Status")
		return out == `s "online"`
	})
	out, err = busctl(t, b, false, "get-property", dbusapi.BusName, dbusapi.ManagerPath, dbusapi.ManagerIf, "NProcesses", "NOnline", "Version")
	if err != nil || out != "u 1\nu 1\ns \"test\"" {
		t.Fatalf("busctl get-property of the manager: %v\n%s", err, out)
	}
	out, err = busctl(t, b, false, "tree", dbusapi.BusName)
	if err != nil || !strings.Contains(out, "/io/gpm/Manager1/process/0") {
		t.Fatalf("busctl tree does not show the process object: %v\n%s", err, out)
	}
	out, err = busctl(t, b, false, "introspect", dbusapi.BusName, "/io/gpm/Manager1/process/0")
	if err != nil || !strings.Contains(out, ".MemoryCurrent") || !strings.Contains(out, ".Restart ") {
		t.Fatalf("busctl introspect of the process: %v\n%s", err, out)
	}
	out, err = run(t, false, "gdbus", "introspect", "--address", b.addr, "--dest", dbusapi.BusName, "--object-path", dbusapi.ManagerPath)
	if err != nil || !strings.Contains(out, "ListProcesses(out a(usssuudtto) processes);") || !strings.Contains(out, "GetManagedObjects") {
		t.Fatalf("gdbus introspect: %v\n%s", err, out)
	}
	checkServedXML(t, c)

	// Errors are named, with the daemon's messages.
	for _, tt := range []struct {
		method string
		args   []any
		want   string
	}{
		{"GetProcess", []any{"nope"}, "io.gpm.Error.NotFound"},
		{"Stop", []any{[]string{"nope"}}, "io.gpm.Error.NotFound"},
		{"Stop", []any{[]string{}}, "io.gpm.Error.InvalidArgument"},
		{"Start", []any{"{apps: [{name: 'x'"}, "io.gpm.Error.InvalidArgument"},
		{"Start", []any{startJSON("x", "/nonexistent/program")}, "io.gpm.Error.InvalidArgument"},
		{"Scale", []any{"sleeper", int32(0)}, "io.gpm.Error.InvalidArgument"},
		{"Signal", []any{[]string{"sleeper"}, "SIGNOPE"}, "io.gpm.Error.InvalidArgument"},
	} {
		err := manager(c).Call(dbusapi.ManagerIf+"."+tt.method, 0, tt.args...).Err
		var de dbus.Error
		if !errors.As(err, &de) || de.Name != tt.want {
			t.Errorf("%s%v: %v, want %s", tt.method, tt.args, err, tt.want)
		} else {
			t.Logf("%s%v: %s: %v", tt.method, tt.args, de.Name, de.Body)
		}
	}
	err = c.Object(dbusapi.BusName, "/io/gpm/Manager1/process/0").SetProperty(dbusapi.ProcessIf+".Status", dbus.MakeVariant("x"))
	if err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Errorf("Set of a property: %v, want it refused as read-only", err)
	}

	out, err = busctl(t, b, false, "call", dbusapi.BusName, "/io/gpm/Manager1/process/0", dbusapi.ProcessIf, "Stop")
	if err != nil {
		t.Fatalf("busctl call Stop on the process: %v\n%s", err, out)
	}
	out, err = busctl(t, b, false, "get-property", dbusapi.BusName, "/io/gpm/Manager1/process/0", dbusapi.ProcessIf, "Status")
	if err != nil || out != `s "stopped"` {
		t.Fatalf("after Stop: %v %s", err, out)
	}
	out, err = busctl(t, b, false, "call", dbusapi.BusName, dbusapi.ManagerPath, dbusapi.ManagerIf, "Delete", "as", "1", "all")
	if err != nil || !strings.Contains(out, `"deleted"`) {
		t.Fatalf("busctl call Delete all: %v\n%s", err, out)
	}
	out, err = busctl(t, b, false, "introspect", dbusapi.BusName, "/io/gpm/Manager1/process/0")
	if err == nil {
		t.Fatalf("the deleted process's object still introspects:\n%s", out)
	}
}

// checkServedXML compares the io.gpm interfaces the daemon serves with init/io.gpm.Manager1.xml.
func checkServedXML(t *testing.T, c *dbus.Conn) {
	t.Helper()
	shipped, err := os.ReadFile(filepath.Join("..", "init", "io.gpm.Manager1.xml"))
	if err != nil {
		t.Fatal(err)
	}
	served := ""
	for _, p := range []dbus.ObjectPath{dbusapi.ManagerPath, "/io/gpm/Manager1/process/0"} {
		var x string
		if err := c.Object(dbusapi.BusName, p).Call("org.freedesktop.DBus.Introspectable.Introspect", 0).Store(&x); err != nil {
			t.Fatalf("Introspect %s: %v", p, err)
		}
		served += x
	}
	for _, iface := range []string{dbusapi.ManagerIf, dbusapi.ProcessIf} {
		want := interfaceElement(t, string(shipped), iface)
		if got := interfaceElement(t, served, iface); got != want {
			t.Errorf("the daemon serves %s as\n%s\ninit/io.gpm.Manager1.xml has\n%s", iface, got, want)
		}
	}
}

func interfaceElement(t *testing.T, xml, iface string) string {
	t.Helper()
	start := strings.Index(xml, `<interface name="`+iface+`">`)
	if start < 0 {
		t.Fatalf("no interface %s in\n%s", iface, xml)
	}
	end := strings.Index(xml[start:], "</interface>")
	return xml[start : start+end]
}

// nobody may read (the shipped policy lets anyone introspect, get properties, list and find processes), and is
// refused every change: by the bus policy, and, where a policy lets it through (as group gpm would), by the daemon
// itself, which admits root and its own uid.
func TestDBusNobody(t *testing.T) {
	requireTools(t, "dbus-send")
	widened := `<policy user="nobody"><allow send_destination="io.gpm.Manager1"/></policy>`
	for _, tt := range []struct {
		name, extra, wantErr string
		env                  []string
	}{
		{"shipped policy", "", "org.freedesktop.DBus.Error.AccessDenied", nil},
		{"policy lets nobody call", widened, "io.gpm.Error.AccessDenied", nil},
		// The system daemon admits anyone on its socket (whose mode and group are the check); on the bus it
		// admits root, its uid and group gpm only.
		{"system daemon, policy lets nobody call", widened, "io.gpm.Error.AccessDenied", []string{api.SystemEnv + "=1"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b, d, _ := setup(t, tt.extra, tt.env...)
			var started []api.Process
			err := d.c.Call(context.Background(), api.MethodStart, api.StartParams{Apps: []api.StartApp{app(t, "sleeper", "/bin/sleep", "60")}}, &started)
			if err != nil {
				t.Fatal(err)
			}
			// ListProcesses answers from what the service has seen of the daemon's events: wait until it has seen
			// the start (this test is about who may call, not how soon the service sees a change).
			root := connect(t, b.addr)
			waitFor(t, 30*time.Second, "ListProcesses shows sleeper", func() bool {
				rows := listProcesses(t, root)
				return len(rows) == 1 && rows[0].Name == "sleeper"
			})
			for _, r := range []struct {
				args []string
				want string
			}{
				{[]string{"call", dbusapi.BusName, dbusapi.ManagerPath, dbusapi.ManagerIf, "ListProcesses"}, `"sleeper"`},
				{[]string{"call", dbusapi.BusName, dbusapi.ManagerPath, dbusapi.ManagerIf, "GetProcess", "s", "sleeper"}, `o "/io/gpm/Manager1/process/0"`},
				{[]string{"get-property", dbusapi.BusName, dbusapi.ManagerPath, dbusapi.ManagerIf, "NProcesses"}, "u 1"},
				{[]string{"call", dbusapi.BusName, "/io/gpm/Manager1/process/0", "org.freedesktop.DBus.Properties", "GetAll", "s", dbusapi.ProcessIf}, `"Status" s "`},
				{[]string{"call", dbusapi.BusName, dbusapi.ManagerPath, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects"}, `"/io/gpm/Manager1/process/0" 1 "io.gpm.Process1"`},
				{[]string{"introspect", dbusapi.BusName, "/io/gpm/Manager1/process/0"}, ".MemoryCurrent"},
			} {
				if out, err := busctl(t, b, true, r.args...); err != nil || !strings.Contains(out, r.want) {
					t.Errorf("as nobody, busctl %s: %v\n%s\nwant %s in it", strings.Join(r.args, " "), err, out, r.want)
				}
			}
			for _, call := range [][]string{
				{dbusapi.ManagerPath, dbusapi.ManagerIf + ".Stop", "array:string:all"},
				{dbusapi.ManagerPath, dbusapi.ManagerIf + ".Delete", "array:string:all"},
				{dbusapi.ManagerPath, dbusapi.ManagerIf + ".Start", "string:" + startJSON("evil", "/bin/sleep", "60")},
				// Refused before the file is looked at: checking its paths as the daemon (root) would tell nobody
				// whether a file exists where nobody cannot look.
				{dbusapi.ManagerPath, dbusapi.ManagerIf + ".Start", "string:" + `{"name": "probe", "script": "/bin/sleep", "cwd": "/root/no-such-dir"}`},
				{dbusapi.ManagerPath, dbusapi.ManagerIf + ".Start", "string:" + `{"name": "probe", "script": 1}`},
				{dbusapi.ManagerPath, dbusapi.ManagerIf + ".Signal", "array:string:all", "string:SIGKILL"},
				{dbusapi.ManagerPath, dbusapi.ManagerIf + ".Save", "boolean:true"},
				{"/io/gpm/Manager1/process/0", dbusapi.ProcessIf + ".Restart"},
			} {
				args := append([]string{"--bus=" + b.addr, "--print-reply", "--dest=" + dbusapi.BusName}, call...)
				out, err := run(t, true, "dbus-send", args...)
				if err == nil || !strings.Contains(out, tt.wantErr) {
					t.Errorf("as nobody, %s: %v\n%s\nwant %s", call[1], err, out, tt.wantErr)
				} else {
					t.Logf("as nobody, %s: %s", call[1], out)
				}
			}
			var list []api.Process
			if err := d.c.Call(context.Background(), api.MethodList, nil, &list); err != nil || len(list) != 1 ||
				list[0].Status != api.StatusOnline || list[0].PID != started[0].PID || list[0].Restarts != 0 {
				t.Fatalf("after nobody's calls: %v %+v, want the one app online as it was", err, list)
			}
		})
	}
}

// app is an app to start through the daemon's Caller, as the CLI would send it; change adjusts it first.
func app(t *testing.T, name, script string, args ...string) api.StartApp {
	return appWith(t, nil, name, script, args...)
}

func appWith(t *testing.T, change func(*config.App), name, script string, args ...string) api.StartApp {
	t.Helper()
	a := config.New()
	a.Name, a.Script, a.Args = name, script, args
	if change != nil {
		change(&a)
	}
	if err := a.Normalize("/"); err != nil {
		t.Fatal(err)
	}
	return api.StartApp{App: a}
}
