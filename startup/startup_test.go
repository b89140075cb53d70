package startup

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden and the files in init/ from the templates")

const testPath = "/usr/local/bin:/usr/bin:/bin"

func alice(p Platform, m Mode) Spec {
	s := Spec{Platform: p, Mode: m, Exe: "/usr/bin/gpm", User: "alice", UID: 1000, Home: "/home/alice",
		GPMHome: "/home/alice/.gpm", Path: testPath}
	s.Name = DefaultName(p, m, s.User)
	return s
}

// goldens are every file gpm startup can write, by golden name: the file rendered from the spec whose path ends
// with suffix.
var goldens = []struct {
	name   string
	spec   func() Spec
	suffix string
}{
	{"systemd-system.service", func() Spec { return alice(Systemd, System) }, ".service"},
	{"systemd-system-fdpreserve.service", func() Spec { s := alice(Systemd, System); s.FDStorePreserve = true; return s }, ".service"},
	{"systemd-user.service", func() Spec { return alice(Systemd, User) }, ".service"},
	{"systemd-global.service", func() Spec { return Spec{Platform: Systemd, Mode: Global, Name: "gpm", Exe: "/usr/bin/gpm"} }, ".service"},
	{"systemd-global.socket", func() Spec { return Spec{Platform: Systemd, Mode: Global, Name: "gpm", Exe: "/usr/bin/gpm"} }, ".socket"},
	{"systemd-quoting.service", func() Spec {
		s := alice(Systemd, System)
		s.Exe, s.GPMHome, s.Path = `/opt/my apps/gpm%1`, `/srv/gpm "$x"`, `/opt/a b/bin:/usr/bin`
		return s
	}, ".service"},
	// The branches no other golden takes: network-online ordering; a system service of the manager's own user.
	{"systemd-waitonline.service", func() Spec {
		s := alice(Systemd, User)
		s.WaitOnline, s.GPMHome, s.Path, s.LimitNOFILE = true, "", "", 4096
		return s
	}, ".service"},
	{"systemd-system-root.service", func() Spec {
		return Spec{Platform: Systemd, Mode: System, Name: "gpm-root", Exe: "/usr/local/bin/gpm", WaitOnline: true}
	}, ".service"},
	{"launchd-root.plist", func() Spec {
		return Spec{Platform: Launchd, Mode: System, Name: "io.gpm.root", Exe: "/usr/local/bin/gpm", LimitNOFILE: 1024}
	}, ".plist"},
	{"launchd-daemon.plist", func() Spec { return alice(Launchd, System) }, ".plist"},
	{"launchd-agent.plist", func() Spec { return alice(Launchd, User) }, ".plist"},
	{"launchd-escaping.plist", func() Spec { s := alice(Launchd, System); s.GPMHome = "/Users/a&b/<gpm>"; return s }, ".plist"},
	{"windows-service.txt", func() Spec {
		return Spec{Platform: Windows, Mode: System, Name: "gpm", Exe: `C:\Program Files\gpm\gpm.exe`, GPMHome: `C:\ProgramData\gpm`}
	}, ""},
	{"windows-service-user.txt", func() Spec {
		return Spec{Platform: Windows, Mode: System, Name: "gpm-ann", Exe: `C:\gpm\gpm.exe`, User: `.\ann`,
			GPMHome: `C:\Users\ann\.gpm`, Path: `C:\Program Files\nodejs;C:\Windows\system32`}
	}, ""},
}

func renderOne(t *testing.T, s Spec, suffix string) File {
	t.Helper()
	files, err := Render(s)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.HasSuffix(f.Path, suffix) {
			return f
		}
	}
	t.Fatalf("no file ending in %q rendered for %+v", suffix, s)
	return File{}
}

// checkGolden compares got with the file at path, or rewrites it with -update.
func checkGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./startup -update writes it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the rendering (go test ./startup -update rewrites it):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func TestGolden(t *testing.T) {
	for _, g := range goldens {
		t.Run(g.name, func(t *testing.T) {
			f := renderOne(t, g.spec(), g.suffix)
			checkGolden(t, filepath.Join("testdata", g.name+".golden"), f.Data)
		})
	}
}

// TestInitFiles: the files the packages ship (init/) are what gpm startup renders for the same binary, so the
// packaged system daemon and `gpm --system startup` on a machine without the package are the same service.
func TestInitFiles(t *testing.T) {
	global := Spec{Platform: Systemd, Mode: Global, Name: "gpm", Exe: "/usr/bin/gpm"}
	user := Spec{Platform: Systemd, Mode: User, Name: "gpm", Exe: "/usr/bin/gpm", Home: "/home/any"}
	agent := Spec{Platform: Launchd, Mode: User, Name: "io.gpm", Exe: "/usr/local/bin/gpm", Home: "/Users/any"}
	for _, c := range []struct {
		file   string
		spec   Spec
		suffix string
	}{
		{"gpm.service", global, "gpm.service"},
		{"gpm.socket", global, "gpm.socket"},
		{"gpm.sysusers", global, "sysusers.d/gpm.conf"},
		{"gpm.tmpfiles", global, "tmpfiles.d/gpm.conf"},
		{"gpm-user.service", user, ".service"},
		{"io.gpm.plist", agent, ".plist"},
	} {
		t.Run(c.file, func(t *testing.T) {
			checkGolden(t, filepath.Join("..", "init", c.file), renderOne(t, c.spec, c.suffix).Data)
		})
	}
}

func TestSpecErrors(t *testing.T) {
	for name, s := range map[string]Spec{
		"relative exe":    {Platform: Systemd, Mode: System, Name: "gpm", Exe: "gpm"},
		"bad name":        {Platform: Systemd, Mode: System, Name: "a/b", Exe: "/usr/bin/gpm"},
		"global launchd":  {Platform: Launchd, Mode: Global, Name: "gpm", Exe: "/usr/bin/gpm"},
		"user windows":    {Platform: Windows, Mode: User, Name: "gpm", Exe: "gpm.exe", Home: "C:\\"},
		"user no home":    {Platform: Systemd, Mode: User, Name: "gpm", Exe: "/usr/bin/gpm"},
		"unknown manager": {Platform: "upstart", Mode: System, Name: "gpm", Exe: "/usr/bin/gpm"},
	} {
		if _, err := Render(s); err == nil {
			t.Errorf("%s: rendered %+v", name, s)
		}
	}
}

// TestSystemdAnalyzeVerify loads every rendered unit into systemd's own parser: unknown keys, bad values, a
// WantedBy= that does not exist and quoting mistakes all show up here.
func TestSystemdAnalyzeVerify(t *testing.T) {
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Skip("systemd-analyze is not installed")
	}
	version, err := SystemdVersion(context.Background(), Exec{})
	if err != nil {
		t.Skipf("systemd version: %v", err)
	}
	// verify checks that ExecStart= exists: use a real executable.
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// verify drops a marker in /run/systemd on a host whose init is not systemd; leave the host as it was.
	marker := "/run/systemd/systemd-units-load"
	if _, err := os.Stat(marker); os.IsNotExist(err) {
		t.Cleanup(func() { os.Remove(marker) })
	}
	cur := alice(Systemd, System)
	cur.User, cur.Home = "root", "/root"
	for _, c := range []struct {
		name string
		spec Spec
		user bool
	}{
		{"system", cur, false},
		{"system-fdpreserve", func() Spec { s := cur; s.FDStorePreserve = true; return s }(), false},
		{"quoting", func() Spec { s := cur; s.GPMHome, s.Path = `/srv/gpm "$x" 100%`, "/opt/a b/bin:/usr/bin"; return s }(), false},
		{"global", Spec{Platform: Systemd, Mode: Global, Name: "gpm"}, false},
		{"user", alice(Systemd, User), true},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.spec.FDStorePreserve && version < 254 {
				t.Skipf("FileDescriptorStorePreserve= needs systemd 254; this is %d", version)
			}
			c.spec.Exe = exe
			files, err := Render(c.spec)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			args := []string{"verify", "--man=no"}
			if c.user {
				args = append(args, "--user")
			}
			for _, f := range files {
				if !strings.HasSuffix(f.Path, ".service") && !strings.HasSuffix(f.Path, ".socket") {
					continue
				}
				p := filepath.Join(dir, filepath.Base(f.Path))
				if err := os.WriteFile(p, f.Data, 0o644); err != nil {
					t.Fatal(err)
				}
				args = append(args, p)
			}
			cmd := exec.Command("systemd-analyze", args...)
			cmd.Dir = dir
			if c.user {
				// A user manager needs its runtime directory, even only to load units.
				cmd.Env = append(os.Environ(), "XDG_RUNTIME_DIR="+t.TempDir())
			}
			out, err := cmd.CombinedOutput()
			if err != nil || len(bytes.TrimSpace(out)) > 0 {
				t.Errorf("systemd-analyze %s: %v\n%s", strings.Join(args, " "), err, out)
			}
		})
	}
}

// fakeSystemd is a Runner that keeps the state systemctl would: which units are enabled and active.
type fakeSystemd struct {
	calls   []string
	enabled map[string]bool
	active  map[string]bool
	linger  bool
	mainPID string
}

func newFake() *fakeSystemd {
	return &fakeSystemd{enabled: map[string]bool{}, active: map[string]bool{}, mainPID: "0"}
}

func (f *fakeSystemd) Run(_ context.Context, name string, args ...string) ([]byte, error) {
	line := strings.TrimSpace(name + " " + strings.Join(args, " "))
	a := slices.DeleteFunc(slices.Clone(args), func(s string) bool { return s == "--user" })
	switch {
	case name == "systemctl" && len(a) > 0 && a[0] == "--version":
		return []byte("systemd 252 (252.39-1~deb12u1)\n+PAM\n"), nil
	case name == "systemctl" && a[0] == "is-enabled":
		if f.enabled[a[1]] {
			return []byte("enabled\n"), nil
		}
		return []byte("disabled\n"), fmt.Errorf("exit status 1")
	case name == "systemctl" && a[0] == "is-active":
		if f.active[a[1]] {
			return []byte("active\n"), nil
		}
		return []byte("inactive\n"), fmt.Errorf("exit status 3")
	case name == "systemctl" && a[0] == "show":
		return []byte(f.mainPID + "\n"), nil
	case name == "loginctl" && a[0] == "show-user":
		if f.linger {
			return []byte("yes\n"), nil
		}
		return []byte("no\n"), nil
	}
	f.calls = append(f.calls, line)
	switch {
	case name == "systemctl" && a[0] == "enable" && a[1] == "--now":
		for _, u := range a[2:] {
			f.enabled[u], f.active[u] = true, true
		}
	case name == "systemctl" && a[0] == "disable" && a[1] == "--now":
		for _, u := range a[2:] {
			f.enabled[u], f.active[u] = false, false
		}
	case name == "loginctl" && a[0] == "enable-linger":
		f.linger = true
	}
	return nil, nil
}

// fakeDaemons is a daemon running outside the service manager, until it is handed over.
type fakeDaemons struct {
	pid    int
	killed []string
}

func (d *fakeDaemons) PID(_ context.Context, home string) (int, error) { return d.pid, nil }
func (d *fakeDaemons) SaveAndKill(_ context.Context, home string) error {
	d.killed = append(d.killed, home)
	d.pid = 0
	return nil
}

func TestInstallIdempotentAndHandover(t *testing.T) {
	root := t.TempDir()
	sd, daemons := newFake(), &fakeDaemons{pid: 4242}
	var out bytes.Buffer
	in := &Installer{Runner: sd, Daemons: daemons, Out: &out, Root: root}
	s := alice(Systemd, System)
	ctx := context.Background()

	if err := in.Install(ctx, s); err != nil {
		t.Fatal(err)
	}
	want := []string{"systemctl daemon-reload", "systemctl enable --now gpm-alice.service"}
	if !slices.Equal(sd.calls, want) {
		t.Errorf("first install ran %q, want %q", sd.calls, want)
	}
	if !slices.Equal(daemons.killed, []string{"/home/alice/.gpm"}) {
		t.Errorf("handover: killed %q, want the daemon of /home/alice/.gpm", daemons.killed)
	}
	unit, err := os.ReadFile(filepath.Join(root, "/etc/systemd/system/gpm-alice.service"))
	if err != nil {
		t.Fatal(err)
	}
	if want := renderOne(t, s, ".service").Data; !bytes.Equal(unit, want) {
		t.Errorf("installed unit differs from the rendering:\n%s", unit)
	}
	for _, w := range []string{"wrote: /etc/systemd/system/gpm-alice.service", "handing over", "ran: systemctl enable --now gpm-alice.service"} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("report lacks %q:\n%s", w, out.String())
		}
	}
	st, _ := os.Stat(filepath.Join(root, "/etc/systemd/system/gpm-alice.service"))
	mtime := st.ModTime()

	// Twice: nothing written, nothing run, and it says so.
	sd.calls, out = nil, bytes.Buffer{}
	if err := in.Install(ctx, s); err != nil {
		t.Fatal(err)
	}
	if len(sd.calls) != 0 {
		t.Errorf("second install ran %q", sd.calls)
	}
	if st, _ := os.Stat(filepath.Join(root, "/etc/systemd/system/gpm-alice.service")); !st.ModTime().Equal(mtime) {
		t.Error("second install rewrote the unit")
	}
	if !strings.Contains(out.String(), "unchanged: ") || !strings.Contains(out.String(), "nothing to do") {
		t.Errorf("second install report:\n%s", out.String())
	}

	// The daemon the service runs is not handed over.
	daemons.pid, sd.mainPID = 777, "777"
	if err := in.Install(ctx, s); err != nil {
		t.Fatal(err)
	}
	if len(daemons.killed) != 1 {
		t.Errorf("the service's own daemon was handed over: %q", daemons.killed)
	}

	// A changed setting rewrites the unit and reloads systemd, and says the restart is the admin's call.
	sd.calls, out = nil, bytes.Buffer{}
	s.Path = "/opt/bin:" + testPath
	if err := in.Install(ctx, s); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(sd.calls, []string{"systemctl daemon-reload"}) || !strings.Contains(out.String(), "restart gpm-alice.service") {
		t.Errorf("changed unit: ran %q\n%s", sd.calls, out.String())
	}

	// Uninstall: disabled and stopped, removed, reloaded; twice is a no-op.
	sd.calls = nil
	if err := in.Uninstall(ctx, s); err != nil {
		t.Fatal(err)
	}
	want = []string{"systemctl disable --now gpm-alice.service", "systemctl daemon-reload"}
	if !slices.Equal(sd.calls, want) {
		t.Errorf("uninstall ran %q, want %q", sd.calls, want)
	}
	if _, err := os.Stat(filepath.Join(root, "/etc/systemd/system/gpm-alice.service")); !os.IsNotExist(err) {
		t.Errorf("unit left behind: %v", err)
	}
	sd.calls, out = nil, bytes.Buffer{}
	if err := in.Uninstall(ctx, s); err != nil || len(sd.calls) != 0 || !strings.Contains(out.String(), "nothing to remove") {
		t.Errorf("second uninstall: %v, ran %q\n%s", err, sd.calls, out.String())
	}
}

func TestInstallUserLingers(t *testing.T) {
	root := t.TempDir()
	sd := newFake()
	in := &Installer{Runner: sd, Daemons: &fakeDaemons{}, Root: root}
	s := alice(Systemd, User)
	if err := in.Install(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	want := []string{"systemctl --user daemon-reload", "loginctl enable-linger alice", "systemctl --user enable --now gpm.service"}
	if !slices.Equal(sd.calls, want) {
		t.Errorf("ran %q, want %q", sd.calls, want)
	}
	if _, err := os.Stat(filepath.Join(root, "/home/alice/.config/systemd/user/gpm.service")); err != nil {
		t.Error(err)
	}
}

func TestInstallGlobal(t *testing.T) {
	ctx := context.Background()
	s := Spec{Platform: Systemd, Mode: Global, Name: "gpm", Exe: "/usr/bin/gpm"}

	// Without the package: the units, the group and /run/gpm are written and applied.
	root := t.TempDir()
	sd := newFake()
	in := &Installer{Runner: sd, Daemons: &fakeDaemons{}, Root: root}
	if err := in.Install(ctx, s); err != nil {
		t.Fatal(err)
	}
	want := []string{"systemd-sysusers /etc/sysusers.d/gpm.conf", "systemd-tmpfiles --create /etc/tmpfiles.d/gpm.conf",
		"systemctl daemon-reload", "systemctl enable --now gpm.socket gpm.service"}
	if !slices.Equal(sd.calls, want) {
		t.Errorf("ran %q, want %q", sd.calls, want)
	}

	// With the package's units: nothing is copied into /etc, they are enabled; unstartup disables them only.
	root = t.TempDir()
	for _, f := range []string{"gpm.service", "gpm.socket"} {
		p := filepath.Join(root, "usr/lib/systemd/system", f)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte("[Unit]\n"), 0o644)
	}
	sd = newFake()
	in = &Installer{Runner: sd, Daemons: &fakeDaemons{}, Root: root}
	if err := in.Install(ctx, s); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(sd.calls, []string{"systemctl enable --now gpm.socket gpm.service"}) {
		t.Errorf("packaged: ran %q", sd.calls)
	}
	if _, err := os.Stat(filepath.Join(root, "etc")); !os.IsNotExist(err) {
		t.Errorf("packaged: wrote into /etc: %v", err)
	}
	sd.calls = nil
	if err := in.Uninstall(ctx, s); err != nil || !slices.Equal(sd.calls, []string{"systemctl disable --now gpm.socket gpm.service"}) {
		t.Errorf("packaged uninstall: %v, ran %q", err, sd.calls)
	}
}

func TestSystemdVersion(t *testing.T) {
	v, err := SystemdVersion(context.Background(), newFake())
	if err != nil || v != 252 {
		t.Fatalf("got %d, %v", v, err)
	}
}

// TestEscapeArg: the command line --print shows is the one CreateService registers (syscall.EscapeArg on Windows;
// escape_windows_test.go compares the two there).
func TestEscapeArg(t *testing.T) {
	for in, want := range escapeArgCases {
		if got := escapeArg(in); got != want {
			t.Errorf("escapeArg(%q) = %s, want %s", in, got, want)
		}
	}
	if got := commandLine(`C:\Program Files\gpm\gpm.exe`, []string{"daemon", "--resurrect"}); got != `"C:\Program Files\gpm\gpm.exe" daemon --resurrect` {
		t.Errorf("commandLine = %s", got)
	}
}

var escapeArgCases = map[string]string{
	"":                     `""`,
	"daemon":               `daemon`,
	`C:\gpm\gpm.exe`:       `C:\gpm\gpm.exe`,
	`C:\Program Files\gpm`: `"C:\Program Files\gpm"`,
	`C:\my dir\`:           `"C:\my dir\\"`,
	`a"b`:                  `a\"b`,
	`a\"b c`:               `"a\\\"b c"`,
	"tab\there":            "\"tab\there\"",
}

// TestRegistrationDiff: what Install compares with the registered service. The wanted registration matches
// itself, and each difference is named once.
func TestRegistrationDiff(t *testing.T) {
	s := Spec{Platform: Windows, Mode: System, Name: "gpm", Exe: `C:\gpm\gpm.exe`, GPMHome: `C:\gpm-home`, Path: `C:\bin`}
	c := windowsConfig(&s)
	want := wantRegistration(c, c.Executable)
	if want.CommandLine != `C:\gpm\gpm.exe daemon --resurrect` || want.Account != "LocalSystem" || want.StartType != "automatic" ||
		!slices.Equal(want.Env, []string{`GPM_HOME=C:\gpm-home`, `PATH=C:\bin`}) || !want.OnNonCrashes ||
		len(want.Recovery) != 3 || want.ResetPeriod != RecoveryResetPeriod {
		t.Fatalf("wanted registration: %+v", want)
	}
	same := want
	same.CommandLine = strings.ToUpper(same.CommandLine) // paths are case-insensitive
	same.Account = "localsystem"
	if d := same.diff(&want); len(d) != 0 {
		t.Errorf("the wanted registration differs from itself: %q", d)
	}
	// What kardianos registers: one restart after 1 s, reset after a day, crashes only.
	have := want
	have.Recovery, have.OnNonCrashes = want.Recovery[:1], false
	have.Env = []string{`GPM_HOME=C:\old`}
	have.StartType = "delayed"
	if d := have.diff(&want); !slices.Equal(d, []string{"start type", "environment", "recovery actions"}) {
		t.Errorf("diff = %q", d)
	}
}

// TestWindowsOffWindows: installing or removing a Windows service elsewhere is refused, without touching anything.
func TestWindowsOffWindows(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("this is the refusal off Windows")
	}
	in := &Installer{Runner: newFake(), Root: t.TempDir()}
	s := Spec{Platform: Windows, Mode: System, Name: "gpm", Exe: `C:\gpm\gpm.exe`}
	if err := in.Install(context.Background(), s); !errors.Is(err, errNotWindows) {
		t.Errorf("Install: %v", err)
	}
	if err := in.Uninstall(context.Background(), s); !errors.Is(err, errNotWindows) {
		t.Errorf("Uninstall: %v", err)
	}
}

// TestSystemdDelegate_Issue12: every systemd service gpm startup writes (and so the packaged ones, TestInitFiles)
// delegates its cgroup to gpm, which then holds each app process in a cgroup of its own.
func TestSystemdDelegate_Issue12(t *testing.T) {
	for _, g := range goldens {
		if !strings.HasPrefix(g.name, "systemd-") || g.suffix != ".service" {
			continue
		}
		f := renderOne(t, g.spec(), g.suffix)
		if !bytes.Contains(f.Data, []byte("\nDelegate=yes\n")) {
			t.Errorf("%s: no Delegate=yes in [Service]", g.name)
		}
	}
}
