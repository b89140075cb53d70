// Package safefs opens the files that an application's configuration names (log files, pid files) the way a daemon
// that may run as root must: without following a symbolic link, or writing through a hard link, that a user other
// than root could have planted on the way. It also checks that a directory (GPM_HOME) is private to its user, as
// ssh checks ~/.ssh.
//
// The rules (unix; other systems open plainly):
//   - The path is walked from "/" one component at a time, each directory opened without following links.
//   - Every directory on the way must be owned by root, the daemon's user or the app's user, and not writable by
//     group or others, unless it is sticky (as /tmp is): otherwise whoever can write it could swap what follows.
//     The daemon's own group does not count as others (logrotate's rule), and the directory holding the file may
//     be writable by its group (Ubuntu's /var/log is root:syslog 0775): the file is verified there.
//   - A symbolic link is followed only when the directory holding it can be written by root and the daemon's user
//     alone (so /var/run -> /run still works): the app's user may not aim the daemon anywhere.
//   - In a directory that the app's user (or, when sticky, anyone) can write, the file is opened with O_NOFOLLOW
//     and must be a regular file owned by root or the app's user with a single link.
//   - Missing directories are created (mode 0755) as the walk reaches them, never through a link.
package safefs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ErrUnsafe is wrapped by every refusal of a path: the message names the path, the component at fault, why, and
// how to fix it.
var ErrUnsafe = errors.New("unsafe path")

// MaxLinks is how many symbolic links one walk follows (Linux's MAXSYMLINKS); beyond it the path is refused.
const MaxLinks = 40

// dirPerm is the mode of the directories OpenFile creates: the same as gpm created them before (logs are
// readable by their users; the files themselves are 0640).
const dirPerm = 0o755

// OpenFile opens path (made absolute against the working directory) with flag and perm as os.OpenFile does, for
// an application running as uid (-1: as the daemon itself), following the package's rules. With os.O_CREATE,
// missing directories are made. os.O_TRUNC is applied only once the file is verified: a refused file is never
// changed. It returns an error wrapping ErrUnsafe when the path breaks a rule, or the system's error (errors.Is
// fs.ErrNotExist for a missing file without os.O_CREATE).
func OpenFile(path string, flag int, perm fs.FileMode, uid int) (*os.File, error) {
	return openFile(path, flag, perm, uid)
}

// Remove removes the file (or link) path for an application running as uid (-1: as the daemon), walking to its
// directory by the package's rules: a link planted in place of a directory on the way is not followed, so it cannot
// make the daemon remove a file elsewhere. A missing path gives an error wrapping fs.ErrNotExist.
func Remove(path string, uid int) error {
	return remove(path, uid)
}

// OpenDir opens the directory path for an application running as uid (-1: as the daemon), walking to it by the
// package's rules, the directory itself verified as one that holds the application's files; missing directories
// are made. A caller that works inside it through the descriptor (unlinkat, a bind through /proc/self/fd/N/NAME)
// never has a path walked again, so nothing swapped meanwhile can redirect it.
func OpenDir(path string, uid int) (*os.File, error) {
	return openDir(path, uid)
}

// Rename renames the file (or link) path to newName in the same directory, for an application running as uid (-1:
// as the daemon), walking to the directory by the package's rules as Remove does. newName is a bare name (no
// separator). It refuses to replace an existing newName: the error wraps fs.ErrExist. Log rotation renames this way,
// so that a link planted in place of a directory on the way cannot make the daemon move files elsewhere.
func Rename(path, newName string, uid int) error {
	if newName == "" || newName == "." || newName == ".." || strings.ContainsRune(newName, filepath.Separator) || strings.ContainsRune(newName, '/') {
		return fmt.Errorf("rename %s: %w: new name %q is not a bare file name", path, ErrUnsafe, newName)
	}
	return rename(path, newName, uid)
}

// CheckPrivate checks that path, a directory or file of the calling user's own (GPM_HOME and what it holds), is
// owned by that user and writable by nobody else, and that every directory leading to it follows the package's
// rules with the calling user as the app's user. A missing path passes: there is nothing to trust yet. The error
// wraps ErrUnsafe and says how to fix the modes, in the words ssh uses for ~/.ssh.
func CheckPrivate(path string) error {
	return checkPrivate(path)
}
