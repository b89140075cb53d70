package dump

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gpmd/gpm/config"
)

func list(names ...string) *List {
	l := &List{}
	for i, n := range names {
		a := config.New()
		a.Name, a.Script, a.Cwd = n, "/bin/true", "/"
		l.Apps = append(l.Apps, App{Config: a, Procs: []Proc{{ID: i, Instance: 0}}})
	}
	return l
}

func names(l *List) string {
	var s []string
	for _, a := range l.Apps {
		s = append(s, a.Config.Name)
	}
	return strings.Join(s, ",")
}

func TestWriteReadBackup(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "dump.json")
	steps := []struct {
		name       string
		prepare    func(t *testing.T)
		write      *List
		wantNames  string
		wantSource string
		wantWarn   bool
		wantBak    string // names in the .bak after the step, "-" if none
	}{
		{"first save has no backup", nil, list("a"), "a", path, false, "-"},
		{"second save keeps the first as .bak", nil, list("a", "b"), "a,b", path, false, "a"},
		{"corrupt dump falls back to .bak", func(t *testing.T) { os.WriteFile(path, []byte("{garbage"), 0o600) },
			nil, "a", path + ".bak", true, "a"},
		{"a save over a corrupt dump keeps the good .bak", nil, list("c"), "c", path, false, "a"},
		{"a stray temp file from a killed save is ignored", func(t *testing.T) {
			os.WriteFile(filepath.Join(dir, ".dump.json.tmp-123"), []byte("{half"), 0o600)
		}, nil, "c", path, false, "a"},
		{"missing dump falls back to .bak", func(t *testing.T) { os.Remove(path) }, nil, "a", path + ".bak", true, "a"},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			if s.prepare != nil {
				s.prepare(t)
			}
			if s.write != nil {
				if err := Write(path, s.write); err != nil {
					t.Fatal(err)
				}
			}
			l, source, warn, err := Read(path)
			if err != nil {
				t.Fatal(err)
			}
			if got := names(l); got != s.wantNames || source != s.wantSource || (warn != "") != s.wantWarn {
				t.Fatalf("Read = %q from %s (warning %q), want %q from %s (warning %v)", got, source, warn, s.wantNames, s.wantSource, s.wantWarn)
			}
			bak, err := read(BackupPath(path))
			gotBak := "-"
			if err == nil {
				gotBak = names(bak)
			}
			if gotBak != s.wantBak {
				t.Fatalf(".bak holds %q, want %q", gotBak, s.wantBak)
			}
		})
	}
	st, err := os.Stat(path + ".bak")
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("backup mode: %v %v", st, err)
	}
}

func TestReadNothing(t *testing.T) {
	_, _, _, err := Read(filepath.Join(t.TempDir(), "dump.json"))
	if !errors.Is(err, ErrNoDump) {
		t.Fatalf("got %v, want ErrNoDump", err)
	}
}

func TestReadBothBroken(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "dump.json")
	os.WriteFile(path, []byte("nope"), 0o600)
	os.WriteFile(path+".bak", []byte(`{"version": 99, "apps": []}`), 0o600)
	_, _, _, err := Read(path)
	if err == nil || errors.Is(err, ErrNoDump) || !strings.Contains(err.Error(), "version 99") {
		t.Fatalf("got %v, want an error naming both problems", err)
	}
}
