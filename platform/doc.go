// Package platform holds what differs between operating systems behind one small API: the control transport (a
// unix socket with peer credentials; a named pipe on Windows), starting a process in its own group, killing a
// process tree, reaping children, and file locks. Callers never ask which OS they are on.
package platform

import "errors"

// ErrUnsupported is returned where this OS has no implementation yet.
var ErrUnsupported = errors.New("not supported on this OS yet")
