// Package dump reads and writes gpm's saved process list (dump.json) so that it survives crashes and full disks: a
// write goes to a temporary file that is fsynced, renamed over the dump, and made durable by an fsync of the
// directory; the previous good dump is kept as dump.json.bak; a reader falls back to the .bak when the dump is
// unreadable.
package dump

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/gpmd/gpm/config"
)

// FormatVersion is written into every dump; a newer major version is refused rather than misread.
const FormatVersion = 1

// List is the content of a dump.
type List struct {
	Version int       `json:"version"`
	SavedAt time.Time `json:"saved_at"`
	Apps    []App     `json:"apps"`
}

// App is one saved application with its processes.
type App struct {
	Config config.App `json:"config"`
	Procs  []Proc     `json:"procs"`
}

// Proc is one saved instance: its id (reused on resurrect when free), its instance number, and whether it was
// meant to be running.
type Proc struct {
	ID       int  `json:"id"`
	Instance int  `json:"instance"`
	Stopped  bool `json:"stopped,omitempty"`
}

// ErrNoDump means neither the dump nor its backup exists.
var ErrNoDump = errors.New("no saved process list")

// BackupPath is where the previous dump is kept.
func BackupPath(path string) string { return path + ".bak" }

// Write saves l at path atomically and keeps the previous dump, if it was readable, as path.bak.
// On any error (a full disk among them) the dump at path is left as it was. The error names the file, not the
// operation: its caller says that (`gpm save: write /x/dump.json: no space left on device`).
func Write(path string, l *List) error {
	l.Version = FormatVersion
	data, err := json.MarshalIndent(l, "", "  ")
	if err != nil {
		return fmt.Errorf("encode the dump: %w", err)
	}
	data = append(data, '\n')
	dir := filepath.Dir(path)
	// Keep the old dump as .bak only if it is good: a corrupt dump must not replace a good backup.
	if _, err := read(path); err == nil {
		if err := writeAtomic(BackupPath(path), func(f *os.File) error { return copyFile(f, path) }); err != nil {
			return fmt.Errorf("keep the previous dump: %w", err)
		}
	}
	if err := writeAtomic(path, func(f *os.File) error { _, err := f.Write(data); return err }); err != nil {
		return err
	}
	return syncDir(dir)
}

// WriteFile writes data at path atomically and durably (temporary file, fsync, rename, fsync of the directory), as
// Write writes a dump: on any error the file at path is left as it was. Other files of GPM_HOME that must survive
// a crash (the settings of `gpm set`) are written with it.
func WriteFile(path string, data []byte) error {
	if err := writeAtomic(path, func(f *os.File) error { _, err := f.Write(data); return err }); err != nil {
		return err
	}
	return syncDir(filepath.Dir(path))
}

// writeAtomic writes a temporary file in path's directory with fill, fsyncs it and renames it over path. Its
// errors name the operation and path, once ("write /x/dump.json: no space left on device"): the temporary file is
// gone when they are read.
func writeAtomic(path string, fill func(*os.File) error) error {
	pattern := "." + filepath.Base(path) + ".tmp-*"
	tmp, err := os.CreateTemp(filepath.Dir(path), pattern)
	if err != nil {
		return renamed(err, "create", filepath.Join(filepath.Dir(path), pattern), path)
	}
	name := tmp.Name()
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(name)
		}
	}()
	if err := tmp.Chmod(0o600); err != nil {
		return renamed(err, "chmod", name, path)
	}
	if err := fill(tmp); err != nil {
		return renamed(err, "write", name, path)
	}
	if err := tmp.Sync(); err != nil {
		return renamed(err, "fsync", name, path)
	}
	if err := tmp.Close(); err != nil {
		return renamed(err, "close", name, path)
	}
	if err := os.Rename(name, path); err != nil {
		return err
	}
	ok = true
	return nil
}

// renamed returns err, from op on the temporary file tmp, as the *fs.PathError of op on path. The os.File calls
// already return a PathError naming tmp; wrapping it in another repeated the operation ("write X: write X: no space
// left on device"). A PathError about another file (fill reading the old dump) is returned as it is, and any other
// error gets op and path.
func renamed(err error, op, tmp, path string) error {
	var pe *fs.PathError
	switch {
	case errors.As(err, &pe) && pe.Path == tmp:
		return &fs.PathError{Op: op, Path: path, Err: pe.Err}
	case errors.As(err, &pe):
		return err
	}
	return &fs.PathError{Op: op, Path: path, Err: err}
}

func copyFile(dst *os.File, src string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	_, err = dst.Write(b)
	return err
}

// Read loads the dump at path, or its backup when the dump is missing or unreadable. It returns the file actually
// read and, when the backup was used, a warning saying why. Neither present gives ErrNoDump.
func Read(path string) (l *List, source string, warning string, err error) {
	l, err = read(path)
	if err == nil {
		return l, path, "", nil
	}
	first := err
	bl, berr := read(BackupPath(path))
	if berr == nil {
		return bl, BackupPath(path), fmt.Sprintf("%s is unreadable (%v); using %s", path, first, BackupPath(path)), nil
	}
	if errors.Is(first, os.ErrNotExist) && errors.Is(berr, os.ErrNotExist) {
		return nil, "", "", ErrNoDump
	}
	if errors.Is(first, os.ErrNotExist) {
		return nil, "", "", fmt.Errorf("resurrect: %s missing and backup unreadable: %w", path, berr)
	}
	return nil, "", "", fmt.Errorf("resurrect: %s: %v; backup: %w", path, first, berr)
}

func read(path string) (*List, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var l List
	if err := json.Unmarshal(b, &l); err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	if l.Version != FormatVersion {
		return nil, fmt.Errorf("%s: format version %d, this gpm reads %d", path, l.Version, FormatVersion)
	}
	return &l, nil
}
