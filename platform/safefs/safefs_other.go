//go:build !unix

package safefs

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// Systems without unix permissions (Windows) open plainly: their ACLs are not modelled here, and gpm cannot run
// apps as other users there.

func openFile(path string, flag int, perm fs.FileMode, uid int) (*os.File, error) {
	f, err := os.OpenFile(path, flag, perm)
	if errors.Is(err, fs.ErrNotExist) && flag&os.O_CREATE != 0 {
		if err := os.MkdirAll(filepath.Dir(path), dirPerm); err != nil {
			return nil, err
		}
		f, err = os.OpenFile(path, flag, perm)
	}
	return f, err
}

func openDir(path string, uid int) (*os.File, error) {
	if err := os.MkdirAll(path, dirPerm); err != nil {
		return nil, err
	}
	return os.Open(path)
}

func remove(path string, uid int) error { return os.Remove(path) }

func rename(path, newName string, uid int) error {
	dst := filepath.Join(filepath.Dir(path), newName)
	if _, err := os.Lstat(dst); err == nil {
		return &fs.PathError{Op: "rename", Path: dst, Err: fs.ErrExist}
	}
	return os.Rename(path, dst)
}

func checkPrivate(path string) error { return nil }
