// Package logpump carries the apps' output from their pipes into logfile.Lines.
//
// On Linux one goroutine reads every app's pipes through one epoll set, as systemd-journald reads every service's
// stdout: with 50 apps the daemon has 19 goroutines instead of 118 and 0.3 MB less RSS (logpump_linux.go says how
// it waits). Elsewhere each pipe has a goroutine of
// its own running logfile.Copy. Either way a line is written whole, and the start of a line whose newline is slow to
// come is written logfile.PartialFlush after its first byte (Lines.FlushPartial).
//
// The price of one reader is that a stream's writes (its log files, the journal, the event hub) hold up the other
// streams while they last; they are appends to local files and non-blocking publishes, as journald's are.
package logpump

import (
	"os"

	"github.com/gpmd/gpm/service/logfile"
)

const (
	// readSize is the most one read takes from a pipe: a default pipe's whole buffer.
	readSize = 64 << 10
	// chattyAt bytes or more in one read means the pump fell behind its app at least once: the app writes faster
	// than the pump is scheduled, and its pipe grows to chattyPipeSize (F_SETPIPE_SZ). A 64 KiB pipe holds ~650
	// lines of 100 B, 2-3 ms of a line-by-line writer: on 2 busy cores the pump is off the CPU that long and the app
	// then blocks in write(2) (issue 13: 500k lines of 100 B, the writer took 3.61 s under gpm, 3.23 s under PM2).
	// Measured (/proc/PID/schedstat of the writer, 500k lines, alternating builds): the writer's time blocked went
	// from 1.5-1.9 s (~300 voluntary switches) to 0-0.17 s (9-10). Quiet apps keep the default 64 KiB, so 1000 apps
	// do not use up a user's pipe allowance (pipe-user-pages-soft; an unprivileged user past it gets EPERM, which
	// leaves the pipe as it was).
	chattyAt       = 16 << 10
	chattyPipeSize = 1 << 20
)

// copyFile is the pump of one pipe on a goroutine of its own: where there is no epoll, and on Linux when the
// epoll set refuses a pipe (out of memory, or past fs.epoll.max_user_watches).
func copyFile(f *os.File, l *logfile.Lines, onErr func(error), done func()) {
	if err := logfile.Copy(&chattyFile{File: f}, l); err != nil && onErr != nil {
		onErr(err)
	}
	f.Close()
	if done != nil {
		done()
	}
}

// chattyFile is a pipe read by logfile.Copy that grows once a read brings chattyAt bytes or more.
type chattyFile struct {
	*os.File
	grown bool
}

func (c *chattyFile) Read(b []byte) (int, error) {
	n, err := c.File.Read(b)
	if n >= chattyAt && !c.grown {
		c.grown = true
		growFile(c.File)
	}
	return n, err
}
