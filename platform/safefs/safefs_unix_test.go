//go:build unix

package safefs

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// nobody is the unprivileged user of the tests: the app's user, or a stranger.
const nobody = 65534

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: the rules are about files that other users own")
	}
}

func mkdir(t *testing.T, path string, mode os.FileMode, uid int) string {
	t.Helper()
	if err := os.MkdirAll(path, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(path, uid, uid); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Chmod(path, uint32(mode)); err != nil { // raw bits: 0o1777 is sticky
		t.Fatal(err)
	}
	return path
}

func writeFile(t *testing.T, path, data string, uid int) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(path, uid, uid); err != nil {
		t.Fatal(err)
	}
}

// TestOpenFile_Issue11Item1 is the table of the rules: which paths a daemon running as root opens for an app of
// uid 65534, and that a refused open leaves the root file it was aimed at untouched.
func TestOpenFile_Issue11Item1(t *testing.T) {
	requireRoot(t)
	tests := []struct {
		name  string
		setup func(t *testing.T, base, secret string) string // returns the path to open
		uid   int
		ok    bool   // opened (and written to)
		want  string // in the error when refused
	}{
		{"plain file in the app user's dir", func(t *testing.T, base, secret string) string {
			return filepath.Join(mkdir(t, filepath.Join(base, "nb"), 0o755, nobody), "out.log")
		}, nobody, true, ""},
		{"symlink planted in the app user's dir", func(t *testing.T, base, secret string) string {
			d := mkdir(t, filepath.Join(base, "nb"), 0o755, nobody)
			os.Symlink(secret, filepath.Join(d, "out.log"))
			return filepath.Join(d, "out.log")
		}, nobody, false, "is a symbolic link in"},
		{"symlinked directory planted in the app user's dir", func(t *testing.T, base, secret string) string {
			d := mkdir(t, filepath.Join(base, "nb"), 0o755, nobody)
			os.Symlink(filepath.Dir(secret), filepath.Join(d, "logs"))
			return filepath.Join(d, "logs", filepath.Base(secret))
		}, nobody, false, "is a symbolic link in"},
		{"symlink in a root-only dir is followed", func(t *testing.T, base, secret string) string {
			real := mkdir(t, filepath.Join(base, "real"), 0o755, 0)
			os.Symlink(real, filepath.Join(base, "run"))
			return filepath.Join(base, "run", "x.pid")
		}, nobody, true, ""},
		{"relative symlink in a root-only dir, then ..", func(t *testing.T, base, secret string) string {
			mkdir(t, filepath.Join(base, "a", "real"), 0o755, 0)
			mkdir(t, filepath.Join(base, "b"), 0o755, 0)
			os.Symlink("../a/real", filepath.Join(base, "b", "link"))
			return filepath.Join(base, "b", "link", "..", "real", "x.log")
		}, nobody, true, ""},
		{"root-only dir reached through the app user's dir", func(t *testing.T, base, secret string) string {
			d := mkdir(t, filepath.Join(base, "nb"), 0o755, nobody)
			mkdir(t, filepath.Join(d, "sub"), 0o755, 0)
			return filepath.Join(d, "sub", "out.log")
		}, nobody, true, ""},
		{"dir writable by others (0777) is refused", func(t *testing.T, base, secret string) string {
			return filepath.Join(mkdir(t, filepath.Join(base, "open"), 0o777, 0), "out.log")
		}, nobody, false, "not writable by group or others"},
		{"dir of another user is refused", func(t *testing.T, base, secret string) string {
			return filepath.Join(mkdir(t, filepath.Join(base, "other"), 0o755, 12345), "out.log")
		}, nobody, false, "owned by uid 12345"},
		{"dir of the app user is refused for an app of root", func(t *testing.T, base, secret string) string {
			return filepath.Join(mkdir(t, filepath.Join(base, "nb"), 0o755, nobody), "out.log")
		}, -1, false, "owned by uid 65534"},
		{"dir holding the file writable by its group (Ubuntu's /var/log, root:syslog 0775)", func(t *testing.T, base, secret string) string {
			d := mkdir(t, filepath.Join(base, "log"), 0o775, 0)
			os.Chown(d, 0, 4)
			return filepath.Join(d, "out.log")
		}, nobody, true, ""},
		{"dir writable by its group: a planted symlink", func(t *testing.T, base, secret string) string {
			d := mkdir(t, filepath.Join(base, "log"), 0o775, 0)
			os.Chown(d, 0, 4)
			os.Symlink(secret, filepath.Join(d, "out.log"))
			return filepath.Join(d, "out.log")
		}, nobody, false, "is a symbolic link in"},
		{"dir on the way writable by its group", func(t *testing.T, base, secret string) string {
			d := mkdir(t, filepath.Join(base, "log"), 0o775, 0)
			os.Chown(d, 0, 4)
			return filepath.Join(mkdir(t, filepath.Join(d, "app"), 0o755, 0), "out.log")
		}, nobody, false, "not writable by group or others"},
		{"dir on the way writable by the daemon's own group (root:root 0775)", func(t *testing.T, base, secret string) string {
			d := mkdir(t, filepath.Join(base, "log"), 0o775, 0)
			return filepath.Join(mkdir(t, filepath.Join(d, "app"), 0o755, 0), "out.log")
		}, nobody, true, ""},
		{"sticky dir like /tmp: a new file", func(t *testing.T, base, secret string) string {
			return filepath.Join(mkdir(t, filepath.Join(base, "tmp"), 0o1777, 0), "out.log")
		}, nobody, true, ""},
		{"sticky dir like /tmp: a planted symlink", func(t *testing.T, base, secret string) string {
			d := mkdir(t, filepath.Join(base, "tmp"), 0o1777, 0)
			os.Symlink(secret, filepath.Join(d, "out.log"))
			return filepath.Join(d, "out.log")
		}, nobody, false, "is a symbolic link in"},
		{"sticky dir like /tmp: a stranger's file", func(t *testing.T, base, secret string) string {
			d := mkdir(t, filepath.Join(base, "tmp"), 0o1777, 0)
			writeFile(t, filepath.Join(d, "out.log"), "", 12345)
			return filepath.Join(d, "out.log")
		}, nobody, false, "owned by uid 12345"},
		{"sticky dir owned by a stranger", func(t *testing.T, base, secret string) string {
			return filepath.Join(mkdir(t, filepath.Join(base, "tmp"), 0o1777, 12345), "out.log")
		}, nobody, false, "owned by uid 12345"},
		{"hard link to a root file", func(t *testing.T, base, secret string) string {
			d := mkdir(t, filepath.Join(base, "nb"), 0o755, nobody)
			if err := os.Link(secret, filepath.Join(d, "out.log")); err != nil {
				t.Fatal(err)
			}
			return filepath.Join(d, "out.log")
		}, nobody, false, "hard links"},
		{"a FIFO planted in the app user's dir", func(t *testing.T, base, secret string) string {
			d := mkdir(t, filepath.Join(base, "nb"), 0o755, nobody)
			if err := syscall.Mkfifo(filepath.Join(d, "out.log"), 0o666); err != nil {
				t.Fatal(err)
			}
			return filepath.Join(d, "out.log")
		}, nobody, false, ""}, // refused by open itself (ENXIO: no reader), or as not a regular file
		{"missing dirs are created", func(t *testing.T, base, secret string) string {
			return filepath.Join(mkdir(t, filepath.Join(base, "nb"), 0o755, nobody), "a", "b", "out.log")
		}, nobody, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := mkdir(t, t.TempDir(), 0o755, 0)
			secret := filepath.Join(mkdir(t, filepath.Join(base, "etc"), 0o755, 0), "shadow")
			writeFile(t, secret, "root secret\n", 0)
			path := tt.setup(t, base, secret)
			f, err := OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640, tt.uid)
			if tt.ok {
				if err != nil {
					t.Fatalf("open %s: %v", path, err)
				}
				if _, err := f.WriteString("line\n"); err != nil {
					t.Fatal(err)
				}
				f.Close()
				if b, _ := os.ReadFile(path); string(b) != "line\n" {
					t.Fatalf("%s holds %q after the write", path, b)
				}
			} else {
				if err == nil {
					f.Close()
					t.Fatalf("open %s: accepted, want a refusal", path)
				}
				if tt.want != "" && (!errors.Is(err, ErrUnsafe) || !strings.Contains(err.Error(), tt.want)) {
					t.Fatalf("open %s: %v; want ErrUnsafe saying %q", path, err, tt.want)
				}
			}
			if b, _ := os.ReadFile(secret); string(b) != "root secret\n" {
				t.Fatalf("the root file was changed: %q", b)
			}
		})
	}
}

// TestOpenFileTruncVerifiedFirst_Issue11Item1: O_TRUNC through a refused hard link must not empty the target.
func TestOpenFileTruncVerifiedFirst_Issue11Item1(t *testing.T) {
	requireRoot(t)
	base := mkdir(t, t.TempDir(), 0o755, 0)
	secret := filepath.Join(base, "shadow")
	writeFile(t, secret, "root secret\n", 0)
	d := mkdir(t, filepath.Join(base, "nb"), 0o755, nobody)
	if err := os.Link(secret, filepath.Join(d, "app.pid")); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenFile(filepath.Join(d, "app.pid"), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644, nobody); !errors.Is(err, ErrUnsafe) {
		t.Fatalf("got %v, want ErrUnsafe", err)
	}
	if b, _ := os.ReadFile(secret); string(b) != "root secret\n" {
		t.Fatalf("the root file was truncated: %q", b)
	}
}

// TestRemove_Issue11Item1: removing an app's pid file never follows a directory link the app's user planted.
func TestRemove_Issue11Item1(t *testing.T) {
	requireRoot(t)
	base := mkdir(t, t.TempDir(), 0o755, 0)
	etc := mkdir(t, filepath.Join(base, "etc"), 0o755, 0)
	writeFile(t, filepath.Join(etc, "app.pid"), "root file\n", 0)
	d := mkdir(t, filepath.Join(base, "nb"), 0o755, nobody)
	if err := os.Symlink(etc, filepath.Join(d, "run")); err != nil {
		t.Fatal(err)
	}
	if err := Remove(filepath.Join(d, "run", "app.pid"), nobody); !errors.Is(err, ErrUnsafe) {
		t.Fatalf("remove through a planted link: %v, want ErrUnsafe", err)
	}
	if _, err := os.Stat(filepath.Join(etc, "app.pid")); err != nil {
		t.Fatalf("the root file is gone: %v", err)
	}
	// The link itself as the last component is removed, not its target.
	os.Symlink(filepath.Join(etc, "app.pid"), filepath.Join(d, "app.pid"))
	if err := Remove(filepath.Join(d, "app.pid"), nobody); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(etc, "app.pid")); err != nil {
		t.Fatalf("the link's target is gone: %v", err)
	}
	if err := Remove(filepath.Join(d, "app.pid"), nobody); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("remove of a missing file: %v, want ErrNotExist", err)
	}
}

// TestOpenFileKernelLinks: /dev/stdout and /proc/self/fd/N name the daemon's own descriptors; they must still open.
func TestOpenFileKernelLinks(t *testing.T) {
	if _, err := os.Stat("/proc/self/fd"); err != nil {
		t.Skip("no procfs")
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	f, err := OpenFile("/proc/self/fd/"+itoa(int(w.Fd())), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.WriteString("x\n")
	b := make([]byte, 2)
	if n, _ := r.Read(b); string(b[:n]) != "x\n" {
		t.Fatalf("read %q through the pipe", b[:n])
	}
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}

// TestCheckPrivate_Issue11Item2: a GPM_HOME must be the caller's and writable by nobody else.
func TestCheckPrivate_Issue11Item2(t *testing.T) {
	requireRoot(t)
	tests := []struct {
		name string
		mode os.FileMode
		uid  int
		want string // "" = accepted
	}{
		{"own 0700", 0o700, 0, ""},
		{"own 0755", 0o755, 0, ""},
		{"own 0777", 0o777, 0, "bad ownership or modes for directory"},
		{"own 0770", 0o770, 0, "mode 0770"},
		{"someone else's 0700", 0o700, nobody, "owned by uid 65534"},
		{"someone else's 0777", 0o777, nobody, "chmod 700"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			home := mkdir(t, filepath.Join(t.TempDir(), "home"), tt.mode, tt.uid)
			err := CheckPrivate(home)
			if tt.want == "" && err != nil {
				t.Fatal(err)
			}
			if tt.want != "" && (!errors.Is(err, ErrUnsafe) || !strings.Contains(err.Error(), tt.want)) {
				t.Fatalf("got %v, want ErrUnsafe saying %q", err, tt.want)
			}
		})
	}
	base := mkdir(t, t.TempDir(), 0o755, 0)
	if err := CheckPrivate(filepath.Join(base, "missing", "home")); err != nil {
		t.Fatalf("a missing home: %v, want nil", err)
	}
	open := mkdir(t, filepath.Join(base, "open"), 0o777, nobody)
	home := mkdir(t, filepath.Join(open, "home"), 0o700, 0)
	if err := CheckPrivate(home); !errors.Is(err, ErrUnsafe) {
		t.Fatalf("a home in a directory others can write: %v, want ErrUnsafe", err)
	}
	grp := mkdir(t, filepath.Join(base, "grp"), 0o775, 0)
	os.Chown(grp, 0, 4)
	if err := CheckPrivate(mkdir(t, filepath.Join(grp, "home"), 0o700, 0)); !errors.Is(err, ErrUnsafe) {
		t.Fatalf("a home in a directory its group can write: %v, want ErrUnsafe", err)
	}
	writeFile(t, filepath.Join(base, "dump.json"), "{}", nobody)
	if err := CheckPrivate(filepath.Join(base, "dump.json")); !errors.Is(err, ErrUnsafe) || !strings.Contains(err.Error(), "file") {
		t.Fatalf("someone else's dump: %v, want ErrUnsafe", err)
	}
}

// TestOpenFileOwnDir: a daemon running its apps as itself (the usual non-root gpm) follows the links of its own
// directories: nobody else could have planted them.
func TestOpenFileOwnDir(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "real")
	if err := os.Mkdir(real, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(real, filepath.Join(dir, "logs")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("out.log", filepath.Join(real, "current.log")); err != nil {
		t.Fatal(err)
	}
	f, err := OpenFile(filepath.Join(dir, "logs", "current.log"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640, -1)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("x\n")
	f.Close()
	if b, _ := os.ReadFile(filepath.Join(real, "out.log")); string(b) != "x\n" {
		t.Fatalf("out.log holds %q", b)
	}
	if err := CheckPrivate(dir); err != nil {
		t.Fatalf("CheckPrivate of a t.TempDir: %v", err)
	}
}
