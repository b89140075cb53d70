//go:build unix

package safefs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// walker walks paths for one app user.
type walker struct {
	uid    int  // the app's user
	euid   int  // the daemon's user
	egid   int  // the daemon's group
	create bool // make missing directories
	strict bool // the directory holding the last component may not be group-writable either (see enter)
	orig   string
}

func newWalker(path string, uid int) (*walker, string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, "", err
	}
	euid := os.Geteuid()
	if uid < 0 {
		uid = euid
	}
	return &walker{uid: uid, euid: euid, egid: os.Getegid(), orig: abs}, abs, nil
}

// dir is an open directory of the walk.
type dir struct {
	fd   int
	path string
	st   unix.Stat_t
}

// errLink is what a last-component function returns when the component is a symbolic link: walk then follows it
// if the rules allow.
var errLink = errors.New("symbolic link")

// walk opens the directory holding the last component of w.orig and calls last with it and the component's name;
// the directory is closed when last returns. When last returns errLink, the link is followed (or refused) and the
// walk starts over from its target.
func (w *walker) walk(last func(d *dir, name string) error) error {
	path := w.orig
	for links := 0; ; links++ {
		if links > MaxLinks {
			return fmt.Errorf("%s: %w: more than %d symbolic links (MaxLinks) to follow", w.orig, ErrUnsafe, MaxLinks)
		}
		next, err := w.walkOnce(path, last)
		if err != nil || next == "" {
			return err
		}
		path = next
	}
}

// walkOnce walks path (absolute, clean). It returns the path to walk next when it met a link to follow.
func (w *walker) walkOnce(path string, last func(d *dir, name string) error) (string, error) {
	if path == "/" {
		return "", fmt.Errorf("%s: %w", w.orig, unix.EISDIR)
	}
	comps := strings.Split(path[1:], "/")
	fd, err := unix.Open("/", oDir|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", &fs.PathError{Op: "open", Path: "/", Err: err}
	}
	d := &dir{fd: fd, path: "/"}
	defer func() { unix.Close(d.fd) }()
	if err := w.enter(d, len(comps) == 1); err != nil {
		return "", err
	}
	for i, name := range comps {
		if i == len(comps)-1 {
			err := last(d, name)
			if err == errLink {
				return w.follow(d, name, nil)
			}
			return "", err
		}
		fd, err := w.openDir(d, name)
		if isLinkErr(err) {
			return w.follow(d, name, comps[i+1:])
		}
		if err != nil {
			return "", &fs.PathError{Op: "open", Path: filepath.Join(d.path, name), Err: err}
		}
		unix.Close(d.fd)
		d.fd, d.path = fd, filepath.Join(d.path, name)
		if err := w.enter(d, i+1 == len(comps)-1); err != nil {
			return "", err
		}
	}
	panic("unreachable")
}

// openDir opens the directory name in d without following a link, creating it when the walk creates.
func (w *walker) openDir(d *dir, name string) (int, error) {
	const flags = oDir | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC
	fd, err := unix.Openat(d.fd, name, flags, 0)
	if err == unix.ENOENT && w.create {
		// Created in a directory already verified, then opened (and verified) like any other: if someone replaced
		// it in between, the checks see what is there.
		if err := unix.Mkdirat(d.fd, name, dirPerm); err != nil && err != unix.EEXIST {
			return -1, err
		}
		fd, err = unix.Openat(d.fd, name, flags, 0)
	}
	return fd, err
}

// isLinkErr reports whether an open with O_NOFOLLOW (and O_DIRECTORY) may have met a symbolic link: ELOOP on Linux
// and macOS, EMLINK on FreeBSD, ENOTDIR for a link where a directory was wanted.
func isLinkErr(err error) bool {
	return err == unix.ELOOP || err == unix.EMLINK || err == unix.ENOTDIR
}

// enter verifies the directory just opened (d.st is filled in); holding says it holds the last component.
//
// The directory holding the file may also be writable by its group (Ubuntu's /var/log is root:syslog 0775, and
// logs go there): everything in it is opened with O_NOFOLLOW and the file verified (see verify), so what the
// group's members put there cannot redirect the write. A directory on the way must not be: a member could move
// another directory into its place and choose where the walk goes on. Neither may be writable by all, unless
// sticky (as /tmp is: nobody can move what is not theirs).
func (w *walker) enter(d *dir, holding bool) error {
	if err := unix.Fstat(d.fd, &d.st); err != nil {
		return &fs.PathError{Op: "stat", Path: d.path, Err: err}
	}
	mode := uint32(d.st.Mode)
	if w.trusted(d.st.Uid) && (!w.othersWrite(&d.st) || mode&unix.S_ISVTX != 0 || holding && !w.strict && mode&0o002 == 0) {
		return nil
	}
	who, owner := "root", "root"
	if w.uid != 0 {
		who, owner = fmt.Sprintf("root and uid %d", w.uid), fmt.Sprintf("root or uid %d", w.uid)
	}
	return fmt.Errorf("%s: %w: directory %s is owned by uid %d with mode %04o, so users other than %s could "+
		"replace what it holds; make it owned by %s and not writable by group or others (chmod go-w %s), or "+
		"choose a path elsewhere", w.orig, ErrUnsafe, d.path, d.st.Uid, mode&0o7777, who, owner, d.path)
}

// trusted reports whether uid may own a directory of the walk.
func (w *walker) trusted(uid uint32) bool {
	return uid == 0 || int(uid) == w.uid || int(uid) == w.euid
}

// othersWrite reports whether the mode of st lets users other than its owner write it. The daemon's own group
// does not count (logrotate's rule for root:root 0775; a user's private group for a daemon of that user).
func (w *walker) othersWrite(st *unix.Stat_t) bool {
	mode := uint32(st.Mode)
	return mode&0o002 != 0 || mode&0o020 != 0 && int(st.Gid) != w.egid
}

// daemonOnly reports whether only root and the daemon's user can write the directory: its links are then the
// daemon's own choice, and its files need no verifying.
func (w *walker) daemonOnly(st *unix.Stat_t) bool {
	return (st.Uid == 0 || int(st.Uid) == w.euid) && !w.othersWrite(st)
}

// follow reads the link name in d and returns the path to walk next (its target, then rest), or refuses it.
func (w *walker) follow(d *dir, name string, rest []string) (string, error) {
	var st unix.Stat_t
	if err := unix.Fstatat(d.fd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return "", &fs.PathError{Op: "stat", Path: filepath.Join(d.path, name), Err: err}
	}
	if uint32(st.Mode)&unix.S_IFMT != unix.S_IFLNK {
		return "", &fs.PathError{Op: "open", Path: filepath.Join(d.path, name), Err: unix.ENOTDIR}
	}
	if !w.daemonOnly(&d.st) {
		return "", fmt.Errorf("%s: %w: %s is a symbolic link in %s (owned by uid %d, mode %04o), a directory that "+
			"users other than root can write; a daemon running as uid %d follows no link there: name the file "+
			"itself in the configuration",
			w.orig, ErrUnsafe, filepath.Join(d.path, name), d.path, d.st.Uid, uint32(d.st.Mode)&0o7777, w.euid)
	}
	buf := make([]byte, unix.PathMax)
	n, err := unix.Readlinkat(d.fd, name, buf)
	if err != nil {
		return "", &fs.PathError{Op: "readlink", Path: filepath.Join(d.path, name), Err: err}
	}
	if n >= len(buf) {
		return "", &fs.PathError{Op: "readlink", Path: filepath.Join(d.path, name), Err: unix.ENAMETOOLONG}
	}
	target := string(buf[:n])
	// d.path is the directory as it really is (every link on the way already replaced by its target), so a ".." in
	// the target is resolved lexically as the kernel would resolve it.
	if !filepath.IsAbs(target) {
		target = filepath.Join(d.path, target)
	}
	return filepath.Join(append([]string{target}, rest...)...), nil
}

// verify checks the file fd opened as name in d: in a directory that others than the daemon can write, it must be
// a regular file of root or the app's user with one link (a hard link to a root file is the same file).
func (w *walker) verify(d *dir, name string, fd int) error {
	if w.daemonOnly(&d.st) {
		return nil
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return &fs.PathError{Op: "stat", Path: w.orig, Err: err}
	}
	path := filepath.Join(d.path, name)
	var why string
	switch {
	case uint32(st.Mode)&unix.S_IFMT != unix.S_IFREG:
		why = fmt.Sprintf("is not a regular file (mode %v)", fs.FileMode(uint32(st.Mode)&0o777))
	case !w.trusted(st.Uid):
		why = fmt.Sprintf("is owned by uid %d, not by root or uid %d", st.Uid, w.uid)
	case uint64(st.Nlink) != 1:
		why = fmt.Sprintf("has %d hard links: it may be another file under a second name", st.Nlink)
	default:
		return nil
	}
	return fmt.Errorf("%s: %w: %s, in %s, which users other than root can write, %s; remove it and gpm creates it",
		w.orig, ErrUnsafe, path, d.path, why)
}

func openFile(path string, flag int, perm fs.FileMode, uid int) (*os.File, error) {
	w, _, err := newWalker(path, uid)
	if err != nil {
		return nil, err
	}
	w.create = flag&os.O_CREATE != 0
	// O_NONBLOCK: a FIFO planted (or configured) with no reader must not block the daemon in open. O_TRUNC waits
	// until the file is verified.
	oflag := flag&^os.O_TRUNC | unix.O_NOFOLLOW | unix.O_CLOEXEC | unix.O_NONBLOCK
	var f *os.File
	err = w.walk(func(d *dir, name string) error {
		fd, err := unix.Openat(d.fd, name, oflag, uint32(perm.Perm()))
		if isLinkErr(err) && err != unix.ENOTDIR {
			if !w.daemonOnly(&d.st) || !kernelLinks(d.fd) {
				return errLink
			}
			fd, err = unix.Openat(d.fd, name, oflag&^unix.O_NOFOLLOW, uint32(perm.Perm()))
		}
		if err != nil {
			return &fs.PathError{Op: "open", Path: w.orig, Err: err}
		}
		if err := w.verify(d, name, fd); err != nil {
			unix.Close(fd)
			return err
		}
		if err := unix.SetNonblock(fd, false); err != nil {
			unix.Close(fd)
			return &fs.PathError{Op: "open", Path: w.orig, Err: err}
		}
		if flag&os.O_TRUNC != 0 {
			if err := unix.Ftruncate(fd, 0); err != nil {
				unix.Close(fd)
				return &fs.PathError{Op: "truncate", Path: w.orig, Err: err}
			}
		}
		f = os.NewFile(uintptr(fd), w.orig)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return f, nil
}

func openDir(path string, uid int) (*os.File, error) {
	w, _, err := newWalker(path, uid)
	if err != nil {
		return nil, err
	}
	w.create = true
	var f *os.File
	err = w.walk(func(d *dir, name string) error {
		fd, err := w.openDir(d, name)
		if isLinkErr(err) {
			return errLink // follow refuses a link it may not follow, and says ENOTDIR for a file
		}
		if err != nil {
			return &fs.PathError{Op: "open", Path: w.orig, Err: err}
		}
		nd := &dir{fd: fd, path: filepath.Join(d.path, name)}
		if err := w.enter(nd, true); err != nil {
			unix.Close(fd)
			return err
		}
		f = os.NewFile(uintptr(fd), nd.path)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return f, nil
}

func remove(path string, uid int) error {
	w, _, err := newWalker(path, uid)
	if err != nil {
		return err
	}
	return w.walk(func(d *dir, name string) error {
		// unlinkat removes a link itself, never its target.
		if err := unix.Unlinkat(d.fd, name, 0); err != nil {
			return &fs.PathError{Op: "remove", Path: w.orig, Err: err}
		}
		return nil
	})
}

func rename(path, newName string, uid int) error {
	w, _, err := newWalker(path, uid)
	if err != nil {
		return err
	}
	return w.walk(func(d *dir, name string) error {
		// renameat moves a link itself, never its target. The check for newName and the rename are two steps: only
		// the daemon and the app's user can write d, and the app's user planting newName in between gets its file
		// replaced by its own log, nothing else.
		if err := unix.Fstatat(d.fd, newName, new(unix.Stat_t), unix.AT_SYMLINK_NOFOLLOW); err == nil {
			return &fs.PathError{Op: "rename", Path: filepath.Join(d.path, newName), Err: fs.ErrExist}
		}
		if err := unix.Renameat(d.fd, name, d.fd, newName); err != nil {
			return &fs.PathError{Op: "rename", Path: w.orig, Err: err}
		}
		return nil
	})
}

func checkPrivate(path string) error {
	w, _, err := newWalker(path, -1)
	if err != nil {
		return err
	}
	// The home is used by path after this check, not opened by it: its parent's group could swap it later.
	w.strict = true
	err = w.walk(func(d *dir, name string) error {
		var st unix.Stat_t
		if err := unix.Fstatat(d.fd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return &fs.PathError{Op: "stat", Path: w.orig, Err: err}
		}
		mode := uint32(st.Mode)
		if mode&unix.S_IFMT == unix.S_IFLNK {
			return errLink
		}
		if int(st.Uid) == w.euid && mode&0o022 == 0 {
			return nil
		}
		kind, fix := "file", "chmod go-w"
		if mode&unix.S_IFMT == unix.S_IFDIR {
			kind, fix = "directory", "chmod 700"
		}
		p := filepath.Join(d.path, name)
		fix += " " + p
		if int(st.Uid) != w.euid {
			fix = fmt.Sprintf("chown %d %s; %s", w.euid, p, fix)
		}
		return fmt.Errorf("%w: bad ownership or modes for %s %s: owned by uid %d, mode %04o; it must be owned by "+
			"you (uid %d) and not writable by group or others: %s", ErrUnsafe, kind, p, st.Uid, mode&0o7777, w.euid, fix)
	})
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}
