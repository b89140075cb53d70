package logpump

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gpmd/gpm/service/logfile"
)

// Reader is the daemon's end of an app's output pipe: a non-blocking descriptor that only the pump reads. It stays
// out of Go's poller: registered there as well as in the pump's epoll set, every write of the app would wake both.
type Reader struct{ fd int }

// Pipe returns a pipe for a child's stdout or stderr: r for Start, w for the child, blocking (a child must wait on
// a full pipe, not fail with EAGAIN) and never registered with Go's poller: os.Pipe registers both ends, and
// handing its write end to a child then costs two fcntl to make it blocking again (Fd() does that) and two
// epoll_ctl, in the burst of a 50-app start where the daemon shares 2 cores with the apps starting.
func Pipe() (r *Reader, w *os.File, err error) {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		return nil, nil, fmt.Errorf("pipe: %w", err)
	}
	// O_NONBLOCK belongs to each end's own open file description: clearing it on w leaves r non-blocking.
	if _, err := unix.FcntlInt(uintptr(p[1]), unix.F_SETFL, 0); err != nil {
		unix.Close(p[0])
		unix.Close(p[1])
		return nil, nil, fmt.Errorf("pipe: %w", err)
	}
	// NewFile sees no O_NONBLOCK on w: a plain descriptor, never polled.
	return &Reader{fd: p[0]}, os.NewFile(uintptr(p[1]), "|1"), nil
}

// Close closes a Reader that never reached Start (its child did not start).
func (r *Reader) Close() error { return unix.Close(r.fd) }

// Start pumps r into l until the app, and every process that inherited its output, closed the pipe; r is then
// closed. onErr hears a read error, which ends the pump, or why the pipe is read by a goroutine of its own. done,
// when not nil, is called once the stream has ended and l was ended (Lines.End): its last line is written.
func Start(r *Reader, l *logfile.Lines, onErr func(error), done func()) {
	p, err := thePump()
	if err == nil {
		err = p.add(r.fd, l, onErr, done)
	}
	if err != nil {
		// Only resources run out here (epoll_create1, or the user's fs.epoll.max_user_watches): the pipe is read as
		// on the other systems rather than left to fill and block its app.
		if onErr != nil {
			onErr(fmt.Errorf("log pump: %w; this pipe is read by a goroutine of its own", err))
		}
		StartApart(r, l, onErr, done)
	}
}

// StartApart pumps r into l as Start does, but on a goroutine of its own: for a stream whose writes may wait on
// another process (the journal, whose socket blocks its senders while journald falls behind), which must not hold
// up every other app's output.
func StartApart(r *Reader, l *logfile.Lines, onErr func(error), done func()) {
	go copyFile(os.NewFile(uintptr(r.fd), "|0"), l, onErr, done)
}

// pump reads every registered pipe. Its epoll descriptor is itself in Go's poller (an epoll set is readable when
// one of its descriptors is ready), so the pump's goroutine parks there like any other reader, and the read
// deadline of that descriptor is the next partial line's flush.
//
// Not a goroutine waiting in epoll_wait itself: that was cheaper a MB of a line-by-line writer (30.8 ms of daemon
// CPU against 36.3 this way and 33.9 with a goroutine per pipe, 2 CPUs), but a thread blocked in a system call
// keeps its P until sysmon takes it back, up to 10 ms on a quiet daemon, and with GOMAXPROCS=1 (a container limited
// to one CPU) what the pump had just made runnable waited for that: `gpm logs` saw a line after 1.0 ms median,
// 1.9-3.3 ms p90, against 0.8 and 1.1-1.2 this way (an app printing every 20 ms, GOMAXPROCS=1, two runs each).
type pump struct {
	epfd int
	ep   *os.File // epfd, in Go's poller

	mu      sync.Mutex
	streams map[int32]*stream // by descriptor; added by Start, removed by the pump's goroutine

	// Only the pump's goroutine uses the rest.
	waiting map[*stream]struct{} // the streams with a line's start pending
	round   uint64               // bumps on every wake-up
	out     []byte               // every stream's lines are formatted here (logfile.Lines.ShareBuffer)
}

// stream is one pipe.
type stream struct {
	fd      int
	lines   *logfile.Lines
	onErr   func(error)
	done    func() // when not nil: the stream ended (Start)
	grown   bool
	flushAt time.Time // when the pending start of a line is written as it is (Lines.FlushPartial)
	readIn  uint64    // the round it was last read in
}

var thePump = sync.OnceValues(func() (*pump, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll_create1: %w", err)
	}
	// Non-blocking, so that NewFile registers it with Go's poller.
	if err := unix.SetNonblock(epfd, true); err != nil {
		unix.Close(epfd)
		return nil, fmt.Errorf("epoll: %w", err)
	}
	ep := os.NewFile(uintptr(epfd), "logpump epoll")
	if err := ep.SetReadDeadline(time.Time{}); err != nil {
		ep.Close()
		return nil, fmt.Errorf("epoll descriptor not pollable: %w", err)
	}
	p := &pump{epfd: epfd, ep: ep, streams: map[int32]*stream{}, waiting: map[*stream]struct{}{}}
	go p.run()
	return p, nil
})

func (p *pump) add(fd int, l *logfile.Lines, onErr func(error), done func()) error {
	l.ShareBuffer(&p.out) // before the pump's goroutine can see l: from then on it alone writes through l
	s := &stream{fd: fd, lines: l, onErr: onErr, done: done}
	p.mu.Lock()
	p.streams[int32(fd)] = s
	p.mu.Unlock()
	// Level-triggered: a round reads a pipe once (at most readSize), so that one chatty app cannot starve the
	// others, and what it left is reported again in the next round.
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(fd)}
	if err := unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		p.mu.Lock()
		delete(p.streams, int32(fd))
		p.mu.Unlock()
		l.ShareBuffer(new([]byte)) // its own again: a goroutine of its own will write through it (Start)
		return fmt.Errorf("epoll_ctl: %w", err)
	}
	return nil
}

// maxEvents is how many ready pipes one round takes.
const maxEvents = 128

func (p *pump) run() {
	rc, err := p.ep.SyscallConn()
	if err != nil {
		panic(fmt.Sprintf("logpump: %v", err)) // an *os.File always has one
	}
	events := make([]unix.EpollEvent, maxEvents)
	ready := make([]*stream, 0, maxEvents)
	buf := make([]byte, readSize)
	var deadline time.Time
	for {
		p.round++
		// A deadline that passed stays passed until it is set again, and the next one differs from it: either a
		// later line's, or none. Setting the same one again changes nothing: it is the line still due.
		if next := p.nextFlush(); !next.Equal(deadline) {
			if err := p.ep.SetReadDeadline(next); err != nil {
				panic(fmt.Sprintf("logpump: deadline: %v", err)) // checked pollable at creation
			}
			deadline = next
		}
		var n int
		var werr error
		var waitAt time.Time // the pipes were looked at after it: a line due by then whose pipe was empty is due
		err := rc.Read(func(fd uintptr) bool {
			waitAt = time.Now()
			n, werr = unix.EpollWait(int(fd), events, 0)
			return n > 0 || (werr != nil && werr != unix.EINTR)
		})
		if errors.Is(err, os.ErrDeadlineExceeded) {
			// A line's start is due: look at the pipes once more before it is written in part. The deadline also
			// passes while the pump is busy, and only an empty pipe means its app has been silent.
			waitAt = time.Now()
			n, werr = unix.EpollWait(p.epfd, events, 0)
		} else if err != nil {
			panic(fmt.Sprintf("logpump: wait: %v", err)) // the descriptor is never closed
		}
		if werr == unix.EINTR {
			n, werr = 0, nil
		}
		if werr != nil {
			panic(fmt.Sprintf("logpump: epoll_wait: %v", werr)) // EBADF, EFAULT, EINVAL: a bug here
		}
		// Which pipes are ready is known as of the wait: a line whose time is up and whose pipe was empty then is
		// written in part now, before the reads; one whose pipe holds more is read first (its newline may be there:
		// the time also passes while the pump is busy with other pipes), and looked at again in the next round.
		ready = ready[:0]
		p.mu.Lock()
		for _, ev := range events[:n] {
			if s := p.streams[ev.Fd]; s != nil {
				s.readIn = p.round
				ready = append(ready, s)
			}
		}
		p.mu.Unlock()
		if n < len(events) {
			// Every ready pipe was in this wait's answer.
			p.flushDue(waitAt)
		}
		for _, s := range ready {
			p.read(s, buf)
		}
	}
}

// read reads the pipe of s once.
func (p *pump) read(s *stream, buf []byte) {
	n, err := unix.Read(s.fd, buf)
	if err == unix.EAGAIN || err == unix.EINTR {
		return
	}
	if n <= 0 {
		// EOF, or a read error (none is known for a pipe): the stream ends.
		if err != nil && s.onErr != nil {
			s.onErr(fmt.Errorf("read: %w", err))
		}
		s.lines.End()
		p.remove(s)
		if s.done != nil {
			s.done()
		}
		return
	}
	if n >= chattyAt && !s.grown {
		s.grown = true
		growFD(s.fd)
	}
	had := s.lines.Pending()
	ended := s.lines.Write(buf[:n])
	switch {
	case !s.lines.Pending():
		delete(p.waiting, s)
	case ended || !had:
		// A new line is pending: it waits PartialFlush of its own, not the rest of the last one's.
		s.flushAt = time.Now().Add(logfile.PartialFlush)
		p.waiting[s] = struct{}{}
	}
}

func (p *pump) remove(s *stream) {
	delete(p.waiting, s)
	// Out of the map before the descriptor is closed: a new pipe may get its number at once.
	p.mu.Lock()
	delete(p.streams, int32(s.fd))
	p.mu.Unlock()
	// Closing the descriptor removes it from the set too; the explicit delete keeps the set exact even if a child
	// of this daemon (a fork before exec) still held it.
	_ = unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, s.fd, nil)
	unix.Close(s.fd)
}

// nextFlush returns when the first pending line is due, or the zero time when none is pending.
func (p *pump) nextFlush() time.Time {
	var next time.Time
	for s := range p.waiting {
		if next.IsZero() || s.flushAt.Before(next) {
			next = s.flushAt
		}
	}
	return next
}

// flushDue writes the pending start of every line due at now and whose pipe was empty when looked at after now.
func (p *pump) flushDue(now time.Time) {
	for s := range p.waiting {
		if now.Before(s.flushAt) || s.readIn == p.round {
			continue // not due; or its app was writing: look once more in the next round, at once
		}
		s.lines.FlushPartial()
		delete(p.waiting, s)
	}
}

// growFile grows the pipe of f (its read end, in Go's poller: SyscallConn, not Fd, which would make it blocking).
func growFile(f *os.File) {
	if rc, err := f.SyscallConn(); err == nil {
		rc.Control(func(fd uintptr) { growFD(int(fd)) })
	}
}

// growFD asks the kernel to make the pipe of fd hold chattyPipeSize bytes, at most /proc/sys/fs/pipe-max-size.
// An error (EPERM past the user's pipe allowance) leaves the pipe as it was, which still works.
func growFD(fd int) {
	_, _ = unix.FcntlInt(uintptr(fd), unix.F_SETPIPE_SZ, pipeSize())
}

// pipeSize is chattyPipeSize, or less where /proc/sys/fs/pipe-max-size says so.
func pipeSize() int {
	size := chattyPipeSize
	if b, err := os.ReadFile("/proc/sys/fs/pipe-max-size"); err == nil {
		if max, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && max > 0 && size > max {
			size = max
		}
	}
	return size
}
