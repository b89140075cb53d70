//go:build !linux

package logpump

import (
	"fmt"
	"os"

	"github.com/gpmd/gpm/service/logfile"
)

// Reader is the daemon's end of an app's output pipe.
type Reader struct{ f *os.File }

// Pipe returns a pipe for a child's stdout or stderr: r for Start, w for the child.
func Pipe() (r *Reader, w *os.File, err error) {
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, nil, fmt.Errorf("pipe: %w", err)
	}
	return &Reader{f: pr}, pw, nil
}

// Close closes a Reader that never reached Start (its child did not start).
func (r *Reader) Close() error { return r.f.Close() }

// Start pumps r into l until the app, and every process that inherited its output, closed the pipe; r is then
// closed. onErr hears a read error, which ends the pump. done, when not nil, is called once the stream has ended
// and l was ended (Lines.End): its last line is written.
func Start(r *Reader, l *logfile.Lines, onErr func(error), done func()) {
	go copyFile(r.f, l, onErr, done)
}

// StartApart is Start: every pipe has a goroutine of its own here.
func StartApart(r *Reader, l *logfile.Lines, onErr func(error), done func()) {
	Start(r, l, onErr, done)
}

// growFile does nothing where F_SETPIPE_SZ does not exist.
func growFile(*os.File) {}
