package module

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type entry struct {
	name, body, link string
	typ              byte
}

func writeTarGz(t *testing.T, entries []entry) string {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Typeflag: e.typ, Mode: 0o644, Size: int64(len(e.body)), Linkname: e.link}
		if e.typ == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Typeflag != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write([]byte(e.body))
		}
	}
	tw.Close()
	zw.Close()
	p := filepath.Join(t.TempDir(), "m.tar.gz")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const manifest = `{"name":"demo","version":"1.0.0","command":["./run.sh","x"],"settings":{"greeting":"hi","n":3}}`

// TestInstallDirectory: a directory is copied (links inside kept), the app runs argv[0] from the module's
// directory with the module's environment, and set values overlay the defaults as strings.
func TestInstallDirectory(t *testing.T) {
	home, src := t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(src, ManifestName), []byte(manifest), 0o644)
	os.WriteFile(filepath.Join(src, "run.sh"), []byte("#!/bin/sh\n"), 0o755)
	os.Mkdir(filepath.Join(src, "lib"), 0o755)
	os.Symlink("../run.sh", filepath.Join(src, "lib", "link"))
	m, err := Install(home, src, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Name != "demo" || m.Version != "1.0.0" {
		t.Errorf("manifest %+v", m)
	}
	if fi, err := os.Stat(filepath.Join(home, Dir, "demo", "run.sh")); err != nil || fi.Mode().Perm()&0o100 == 0 {
		t.Errorf("run.sh copied: %v %v", fi, err)
	}
	if target, err := os.Readlink(filepath.Join(home, Dir, "demo", "lib", "link")); err != nil || target != "../run.sh" {
		t.Errorf("link: %q %v", target, err)
	}
	a, err := App(home, "/s.sock", m, map[string]string{"greeting": "hello", "n": "4"})
	if err != nil {
		t.Fatal(err)
	}
	if a.Namespace != Namespace || a.Script != filepath.Join(home, Dir, "demo", "run.sh") || a.Cwd != Path(home, "demo") ||
		len(a.Args) != 1 || a.Args[0] != "x" || a.Interpreter != "" {
		t.Errorf("app %+v", a)
	}
	var cfg map[string]any
	if err := json.Unmarshal([]byte(a.Env[EnvConfig]), &cfg); err != nil || cfg["greeting"] != "hello" || cfg["n"] != 4.0 {
		t.Errorf("config %s: %v", a.Env[EnvConfig], err)
	}
	if a.Env[EnvName] != "demo" || a.Env[EnvSocket] != "/s.sock" {
		t.Errorf("env %v", a.Env)
	}
	names, err := Installed(home)
	if err != nil || len(names) != 1 || names[0] != "demo" {
		t.Errorf("installed %v %v", names, err)
	}
	// Installing again replaces it; Remove deletes it.
	if _, err := Install(home, src, Options{}); err != nil {
		t.Fatal(err)
	}
	if err := Remove(home, "demo"); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(home, "demo"); !errors.Is(err, ErrNotInstalled) {
		t.Errorf("after remove: %v", err)
	}
	if names, _ := Installed(home); len(names) != 0 {
		t.Errorf("left after remove: %v", names)
	}
}

// TestInstallArchive: an archive is extracted (its one top directory allowed); entries that would land outside
// the module are refused with ErrUnsafePath, and nothing is installed.
func TestInstallArchive(t *testing.T) {
	home := t.TempDir()
	good := writeTarGz(t, []entry{{name: "package/", typ: tar.TypeDir}, {name: "package/" + ManifestName, body: manifest},
		{name: "package/run.sh", body: "#!/bin/sh\n"}, {name: "package/l", typ: tar.TypeSymlink, link: "run.sh"}})
	if m, err := Install(home, good, Options{}); err != nil || m.Name != "demo" {
		t.Fatalf("good archive: %+v %v", m, err)
	}
	bad := map[string][]entry{
		"dotdot":   {{name: ManifestName, body: manifest}, {name: "../evil", body: "x"}},
		"inner":    {{name: ManifestName, body: manifest}, {name: "a/../../evil", body: "x"}},
		"absolute": {{name: ManifestName, body: manifest}, {name: "/tmp/evil", body: "x"}},
		"linkout":  {{name: ManifestName, body: manifest}, {name: "l", typ: tar.TypeSymlink, link: "../../x"}},
		"linkabs":  {{name: ManifestName, body: manifest}, {name: "l", typ: tar.TypeSymlink, link: "/etc"}},
		"hardlink": {{name: ManifestName, body: manifest}, {name: "h", typ: tar.TypeLink, link: "/etc/passwd"}},
		"device":   {{name: ManifestName, body: manifest}, {name: "d", typ: tar.TypeChar}},
	}
	for name, entries := range bad {
		home := t.TempDir()
		_, err := Install(home, writeTarGz(t, entries), Options{})
		if !errors.Is(err, ErrUnsafePath) {
			t.Errorf("%s: %v, want ErrUnsafePath", name, err)
		}
		if names, _ := Installed(home); len(names) != 0 {
			t.Errorf("%s: installed %v", name, names)
		}
		if ents, _ := os.ReadDir(filepath.Join(home, Dir)); len(ents) != 0 {
			t.Errorf("%s: left %v in modules/", name, ents)
		}
	}
	if _, err := Install(t.TempDir(), writeTarGz(t, []entry{{name: "x", body: "y"}}), Options{}); !errors.Is(err, ErrNoManifest) {
		t.Errorf("no manifest: %v", err)
	}
}

// TestInstallLimits: more entries than MaxInstallEntries is ErrTooLarge, named.
func TestInstallLimits(t *testing.T) {
	entries := []entry{{name: ManifestName, body: manifest}}
	for i := 0; i <= MaxInstallEntries; i++ {
		entries = append(entries, entry{name: "d/", typ: tar.TypeDir})
	}
	_, err := Install(t.TempDir(), writeTarGz(t, entries), Options{})
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "MaxInstallEntries") {
		t.Errorf("entries: %v", err)
	}
}

// TestInstallExecutable: a single executable is a module named after it.
func TestInstallExecutable(t *testing.T) {
	home := t.TempDir()
	exe := filepath.Join(t.TempDir(), "hello.sh")
	os.WriteFile(exe, []byte("#!/bin/sh\necho hi\n"), 0o755)
	m, err := Install(home, exe, Options{})
	if err != nil || m.Name != "hello" || m.Command[0] != "./hello.sh" {
		t.Fatalf("%+v %v", m, err)
	}
	a, err := App(home, "/s", m, nil)
	if err != nil || a.Script != filepath.Join(Path(home, "hello"), "hello.sh") || a.Env[EnvConfig] != "{}" {
		t.Errorf("%+v %v", a, err)
	}
	if _, err := Install(home, "Not A Package", Options{}); err == nil {
		t.Errorf("bad npm name accepted")
	}
	for _, bad := range []string{`{"name":"a:b","command":["x"]}`, `{"name":"ok"}`, `{"name":"all","command":["x"]}`} {
		var m Manifest
		json.Unmarshal([]byte(bad), &m)
		if m.Check() == nil {
			t.Errorf("manifest %s accepted", bad)
		}
	}
}

// TestInstallPM2Module: a PM2 module's tree (package.json, no manifest) runs `node <main>` with package.json's
// config as its defaults.
func TestInstallPM2Module(t *testing.T) {
	home, src := t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(src, "package.json"), []byte(`{"name":"@acme/pm2-hello","version":"2.0.0","main":"lib/app.js","config":{"greeting":"hi"}}`), 0o644)
	m, err := Install(home, src, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Name != "pm2-hello" || m.Version != "2.0.0" || len(m.Command) != 2 || m.Command[0] != "node" || m.Command[1] != "lib/app.js" || m.Settings["greeting"] != "hi" {
		t.Errorf("manifest %+v", m)
	}
	if _, err := Read(home, "pm2-hello"); err != nil {
		t.Errorf("manifest not written: %v", err)
	}
	os.WriteFile(filepath.Join(src, "package.json"), []byte(`{"name":"x","main":"../../etc/passwd"}`), 0o644)
	if _, err := Install(t.TempDir(), src, Options{}); !errors.Is(err, ErrUnsafePath) {
		t.Errorf("main out of the module: %v", err)
	}
}

// TestInstallArchiveLinkThroughLink: a link's target is checked against where the link really lands, not against
// its name: an entry named through a link the archive made ("s" -> ".", then "s/s/.../x") is written under that
// link's target, shallower than its name says. A link planted so points out of the module, and the manifest
// written for a package.json went through one to a file outside.
func TestInstallArchiveLinkThroughLink(t *testing.T) {
	outside := filepath.Join(t.TempDir(), "planted")
	deep := strings.Repeat("s/", 7) // deeper than the module's own path under /tmp, within os.Root's links a lookup
	climb := strings.Repeat("../", 7)
	for name, entries := range map[string][]entry{
		"link out": {{name: ManifestName, body: manifest}, {name: "s", typ: tar.TypeSymlink, link: "."},
			{name: "s/s/up", typ: tar.TypeSymlink, link: "../.."}},
		"manifest out": {{name: "package.json", body: `{"name":"demo","main":"index.js"}`},
			{name: "s", typ: tar.TypeSymlink, link: "."},
			{name: deep + ManifestName, typ: tar.TypeSymlink, link: climb + strings.TrimPrefix(outside, "/")}},
		"file through link": {{name: ManifestName, body: manifest}, {name: "d/", typ: tar.TypeDir},
			{name: "s", typ: tar.TypeSymlink, link: "d"}, {name: "s/x", body: "y"}},
	} {
		home := t.TempDir()
		_, err := Install(home, writeTarGz(t, entries), Options{})
		if !errors.Is(err, ErrUnsafePath) {
			t.Errorf("%s: %v, want ErrUnsafePath", name, err)
		}
		if names, _ := Installed(home); len(names) != 0 {
			t.Errorf("%s: installed %v", name, names)
		}
	}
	if _, err := os.Lstat(outside); err == nil {
		t.Errorf("the installation wrote %s, outside the module", outside)
	}
}
