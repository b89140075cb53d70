// Package logfile turns an application's stdout and stderr into log files: it copies a pipe to one or more files in
// whole lines (so instances that share a merged file never interleave inside a line), optionally prefixes each line
// with a timestamp or wraps it as JSON, hands each line to a live subscriber, and reopens or truncates the files on
// request.
package logfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/gpmd/gpm/platform/safefs"
)

// File is an append-only log file that can be reopened (after an outside rotation), truncated (flush) and rotated
// (Rotation). A File with an empty path discards everything.
//
// Every File opened on one path shares one descriptor, one size and one rotation (merged instances, the out and
// combined files of one app): a rotation renames the file once, and every writer moves to the new one at once,
// instead of a second writer going on appending to the renamed file. Writes are whole batches of lines (Copy), so
// a rotation, which happens between two writes, never cuts a line.
//
// Its path comes from an app's configuration and the daemon may be root: every open, rename and removal goes
// through safefs, for the app's user, so that a link that user planted (before start, or in place of the file
// before a reopen) is refused rather than followed, and nothing but the verified descriptor is ever truncated.
type File struct {
	mu    sync.Mutex // held across a write: the pumps sharing a File (out and combined) take turns
	s     *shared    // nil: discards
	owner int        // the app's uid, trusted by safefs besides root; -1: the daemon's own
}

// shared is the state of one open path, shared by every File on it.
type shared struct {
	mu    sync.Mutex
	path  string
	owner int
	refs  int // Files on it; the last Close closes it
	f     *os.File
	size  int64 // bytes in the current file, as far as this daemon knows: Rotation.MaxSize compares to it
	// cut is why the file ends inside a line ("" when it does not): a short write (a full disk) left part of a
	// line, and the next write must not glue its first line to it.
	cut      string
	rot      Rotation
	timer    *time.Timer // the next rotation by Rotation.Schedule
	retryAt  int64       // after a failed rotation by size: the size at which to try again
	lastName rotatedName // the last rotated name used, so that names keep increasing (zero: look at the directory)
	gen      int         // bumps with every SetRotation: an older schedule's timer does nothing
}

// registry holds the shared state of every open path, by its clean path.
var registry = struct {
	mu sync.Mutex
	m  map[string]*shared
}{m: map[string]*shared{}}

// ErrOwner is wrapped by Open's error when the path is already open for another app's user: one path has one
// owner, who trusts safefs's checks for every writer of it.
var ErrOwner = errors.New("log file open for another user")

// Open opens path for appending on behalf of an app running as uid owner (-1: as the daemon), creating missing
// directories, under safefs's rules: it fails with an error wrapping safefs.ErrUnsafe when the path could lead
// the daemon where the app's user chose, and with one wrapping ErrOwner when a File on the same path is open for
// another owner. An empty path, "NULL" or os.DevNull gives a File that discards.
func Open(path string, owner int) (*File, error) {
	lf := &File{owner: owner}
	s, err := attach(path, owner)
	if err != nil {
		return nil, err
	}
	lf.s = s
	return lf, nil
}

// attach returns the shared state of path, opening it if no File has it open; nil for a path that discards.
func attach(path string, owner int) (*shared, error) {
	if path == "" || path == "NULL" || path == os.DevNull {
		return nil, nil
	}
	key := filepath.Clean(path)
	registry.mu.Lock()
	defer registry.mu.Unlock()
	if s := registry.m[key]; s != nil {
		if s.owner != owner {
			return nil, fmt.Errorf("log file %s: %w: it is open for uid %d, not %d (give each user's apps their own files)",
				path, ErrOwner, s.owner, owner)
		}
		s.refs++
		return s, nil
	}
	s := &shared{path: path, owner: owner, refs: 1}
	f, err := s.openPath()
	if err != nil {
		return nil, err
	}
	s.f = f
	s.size = fileSize(f)
	registry.m[key] = s
	return s, nil
}

// detach drops one reference to s, closing it with the last.
func detach(s *shared) error {
	if s == nil {
		return nil
	}
	registry.mu.Lock()
	s.refs--
	last := s.refs == 0
	if last {
		delete(registry.m, filepath.Clean(s.path))
	}
	registry.mu.Unlock()
	if !last {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
	return err
}

func (s *shared) openPath() (*os.File, error) {
	f, err := safefs.OpenFile(s.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640, s.owner)
	if err != nil {
		return nil, fmt.Errorf("log file: %w", err)
	}
	return f, nil
}

func fileSize(f *os.File) int64 {
	if st, err := f.Stat(); err == nil {
		return st.Size()
	}
	return 0
}

// Path is the file's path, "" when it discards.
func (l *File) Path() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.s == nil {
		return ""
	}
	return l.s.path
}

// Write appends p in one write(2): with O_APPEND, concurrent writers to the same file never split it. When p
// would take the file past its Rotation's MaxSize, the whole lines of p that fit are written, the file is rotated,
// and the rest goes to the new file (a failed rotation is returned as the error, after p was written to the file
// as it is; it is tried again once the file has grown by MaxSize more).
//
// A short write (ENOSPC, EDQUOT, EFBIG) leaves the start of a line in the file. The line is then finished, at the
// start of the next write, with cutMarker and a newline, in the same write(2): the cut line says it was cut and
// why, and the next line starts a line of its own ("line 15729 zzzzz [gpm: ...]" then "line 38000", not
// "line 15729 zzzzzline 38000"). Finishing the line with its lost bytes instead would need them kept, and the
// lines lost after it would still be missing. Every File on the path knows of the cut (they share it); a writer
// outside this daemon may still land after it.
func (l *File) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.s == nil {
		return len(p), nil
	}
	return l.s.write(p)
}

func (s *shared) write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return len(p), nil
	}
	var rerr error
	done := 0
	// Not while a line is cut: the marker that ends it belongs to this file.
	for limit := s.rot.MaxSize; limit > 0 && s.cut == "" && s.size+int64(len(p)) > limit && s.size >= s.retryAt; {
		// The whole lines of p that fit go into this file, the rest into the next: p holds whole lines (Copy
		// writes batches of them), so the split is between two lines.
		k := 0
		if room := limit - s.size; room > 0 {
			k = bytes.LastIndexByte(p[:min(int64(len(p)), room)], '\n') + 1
		}
		if k == 0 && s.size == 0 {
			break // a line longer than MaxSize: a file of its own
		}
		if k > 0 {
			n, err := s.writeLocked(p[:k])
			done += n
			if err != nil {
				return done, err
			}
			p = p[k:]
		}
		if rerr = s.rotateLocked(time.Now()); rerr != nil {
			s.retryAt = s.size + limit
			break
		}
	}
	n, err := s.writeLocked(p)
	if err == nil {
		err = rerr
	}
	return done + n, err
}

// writeLocked writes b, finishing a cut line first (see Write).
func (s *shared) writeLocked(p []byte) (int, error) {
	b := p
	if s.cut != "" {
		b = make([]byte, 0, len(s.cut)+len(cutMarker)+3+len(p))
		b = append(append(append(append(b, cutMarker...), ": "...), s.cut...), "]\n"...)
		b = append(b, p...)
	}
	n, err := s.f.Write(b)
	s.size += int64(n)
	if n > 0 {
		s.cut = ""
		// Only a short write cuts a line: Copy writes the start of a line on purpose when its end is slow to come.
		if n < len(b) && b[n-1] != '\n' {
			s.cut = "write failed"
			var pe *fs.PathError
			if errors.As(err, &pe) {
				s.cut = pe.Err.Error()
			}
		}
	}
	// What the caller sees is about p: the marker is not its bytes.
	return max(0, n-(len(b)-len(p))), err
}

// cutMarker ends a line that a failed write cut short, followed by why and "]".
const cutMarker = " [gpm: line cut short by a failed write"

// Reopen opens the path again, so that a file renamed away by logrotate stops growing and a new one starts. When
// the new open fails (the path is now a link the app's user planted, say), the File keeps writing to the file it
// had and the error says why. Every File on the path moves to the new file.
func (l *File) Reopen() error {
	return l.withShared(func(s *shared) error {
		if s.f == nil {
			return nil
		}
		f, err := s.openPath()
		if err != nil {
			return err
		}
		s.f.Close()
		s.f, s.size, s.retryAt = f, fileSize(f), 0
		return nil
	})
}

// Retarget moves the File to path (a changed configuration): writers holding it write there from now on, opened
// for the owner given to Open, with the same Rotation. An empty path, "NULL" or os.DevNull makes it discard; so
// does a path that fails to open (the error says why).
func (l *File) Retarget(path string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if path == "NULL" || path == os.DevNull {
		path = ""
	}
	var rot Rotation
	if l.s != nil {
		if filepath.Clean(path) == filepath.Clean(l.s.path) {
			return nil
		}
		l.s.mu.Lock()
		rot = l.s.rot
		l.s.mu.Unlock()
	} else if path == "" {
		return nil
	}
	detach(l.s)
	l.s = nil
	s, err := attach(path, l.owner)
	if err != nil {
		return err
	}
	l.s = s
	if s != nil {
		s.setRotation(rot)
	}
	return nil
}

// Truncate empties the file through the descriptor opened (and verified) by Open, never by path: the path may
// have become a link since.
func (l *File) Truncate() error {
	return l.withShared(func(s *shared) error {
		if s.f == nil {
			return nil
		}
		if err := s.f.Truncate(0); err != nil {
			return fmt.Errorf("flush %s: %w", s.path, err)
		}
		s.cut, s.size, s.retryAt = "", 0, 0
		return nil
	})
}

// withShared runs fn with the state of the File's path locked (one per path, shared by every File on it); a File
// that discards has none, and nothing runs.
func (l *File) withShared(fn func(s *shared) error) error {
	l.mu.Lock()
	s := l.s
	l.mu.Unlock()
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return fn(s)
}

// Close releases the File; the file itself is closed when no other File on its path remains. A File is closed
// once; writes after Close discard.
func (l *File) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.s
	l.s = nil
	return detach(s)
}

// Format says how a line is written.
type Format struct {
	TimeLayout string // Go layout, with a NUL byte for the weekday number (config.WeekdayMark); "" = no timestamp
	JSON       bool   // one JSON object per line
	Stream     string // "out" or "err", for JSON
	AppName    string
	ID         int
}

// Line is what a subscriber receives: one line as it was written to the file (in its format), without its newline,
// so that `gpm logs` shows live lines as it shows the lines it read back from the file. Text is only valid during
// the call: copying it is the receiver's choice, and with nobody following the logs nothing is copied.
type Line struct {
	Stream string
	Text   []byte
}

// maxRead is the largest read buffer of Copy.
const maxRead = 64 << 10

// maxLine bounds a line held while waiting for its newline; a longer one is written as it is, in pieces of about
// maxLine without newlines of their own (as FlushPartial writes), the line ending at its own newline.
const maxLine = 64 << 10

// PartialFlush is how long the start of a line without its newline waits in Copy before it is written as it is (a
// progress line: "." every 200 ms). Lines an app writes in several pieces arrive within microseconds, so they stay
// whole; PM2 writes every chunk at once.
const PartialFlush = 250 * time.Millisecond

// Lines cuts one output stream into lines and writes them, in whole lines, to its files in its format, then hands
// each to emit (when not nil). It is fed the bytes as they are read (Write) and told when a line's start has waited
// long enough (FlushPartial) and when the stream ended (End); reading, and the deadline FlushPartial keeps, are the
// caller's: Copy does both for a reader with deadlines, the daemon's pump (service/logpump) for every app at once.
// Write errors are reported through onErr and never stop the stream (a full disk must not block the app on a full
// pipe). A Lines is used by one goroutine at a time.
type Lines struct {
	dst     []*File
	f       Format
	emit    func(Line)
	onErr   func(error)
	pending []byte  // the start of a line whose newline has not come
	cont    bool    // the start of the current line was written already (FlushPartial)
	out     *[]byte // the buffer a write is formatted in: its own, or one it shares (ShareBuffer)
}

// NewLines returns the Lines of one stream.
func NewLines(dst []*File, f Format, emit func(Line), onErr func(error)) *Lines {
	return &Lines{dst: dst, f: f, emit: emit, onErr: onErr, out: new([]byte)}
}

// ShareBuffer makes l format its writes in *b, shared with every other Lines that the same goroutine alone writes
// through (the log pump's one buffer for every app): a buffer of each stream's own keeps a chatty app's 64 KiB or
// more for good. Not a sync.Pool: a pool is emptied by every collection, and a daemon whose heap had no room left
// (after 1000 apps) then allocated the buffer anew, growing, on every read, which ran the collector again: 149
// collections and 4x the CPU for a bulk writer's 50 MB (make bench, 2026-12-05 09:00).
func (l *Lines) ShareBuffer(b *[]byte) { l.out = b }

// Write takes the next bytes of the stream and writes every line they end. It reports whether a line ended in
// them: when the start of a line is still pending after that (Pending), it is a new line, whose wait for its
// newline starts now.
func (l *Lines) Write(chunk []byte) (ended bool) {
	out := (*l.out)[:0]
	start := 0
	for {
		// IndexByte, not a loop over the bytes: the loop took 74 % of the cutting's CPU, and a bulk writer's 64 KiB
		// reads are now cut at 4.3 GB/s instead of 1.5 (BenchmarkLinesWrite, 2 cores).
		i := bytes.IndexByte(chunk[start:], '\n')
		if i < 0 {
			break
		}
		line := chunk[start : start+i]
		if len(l.pending) > 0 {
			line = append(l.pending, line...)
			l.pending = l.pending[:0]
		}
		out = l.f.appendPiece(out, line, l.cont, true, l.emit)
		l.cont = false
		start += i + 1
	}
	l.pending = append(l.pending, chunk[start:]...)
	if len(l.pending) >= maxLine {
		// Written as FlushPartial writes a slow line's start: no newline of its own (that cut a 300 KB JSON record
		// into lines of 64 KiB), its rest following under the same prefix.
		out = l.f.appendPiece(out, l.pending, l.cont, false, l.emit)
		l.pending, l.cont = l.pending[:0], !l.f.JSON
	}
	write(l.dst, out, l.onErr)
	l.release()
	*l.out = out
	return start > 0
}

// release drops an empty pending buffer that grew past a small one: a long line once must not cost its app that
// much memory for good.
func (l *Lines) release() {
	if len(l.pending) == 0 && cap(l.pending) > 4<<10 {
		l.pending = nil
	}
}

// Pending reports whether the start of a line waits for its newline.
func (l *Lines) Pending() bool { return len(l.pending) > 0 }

// FlushPartial writes the pending start of a line as far as it goes, unmarked (a progress line: "." every 200 ms);
// its rest follows it, without a second prefix, when it comes. In JSON format every piece is a record of its own.
func (l *Lines) FlushPartial() {
	if len(l.pending) == 0 {
		return
	}
	l.writePiece(false)
	l.pending, l.cont = l.pending[:0], !l.f.JSON
	l.release()
}

// End writes what is left at the end of the stream: a last line without its newline, or the newline of a line
// flushed in part.
func (l *Lines) End() {
	if len(l.pending) > 0 || l.cont {
		l.writePiece(true)
	}
	l.pending, l.cont = nil, false
}

func (l *Lines) writePiece(end bool) {
	out := l.f.appendPiece((*l.out)[:0], l.pending, l.cont, end, l.emit)
	write(l.dst, out, l.onErr)
	*l.out = out
}

// Copy reads r until EOF and writes its lines through l, then ends l. A line whose newline
// has not come PartialFlush after its first byte is flushed (Lines.FlushPartial); that needs r to have read
// deadlines (a pipe from os.Pipe does), otherwise it waits for its newline, maxLine bytes or EOF. It returns the
// first read error other than EOF.
func Copy(r io.Reader, l *Lines) error {
	// The buffer grows while reads fill it: an idle app costs 2 KB per stream, a chatty one reads 64 KB at a time.
	buf := make([]byte, 2<<10)
	dl, _ := r.(interface{ SetReadDeadline(time.Time) error })
	armed := false // a read deadline is set for the partial line pending
	var flushAt time.Time
	probed := false // the deadline passed and the next read only looks whether the app wrote meanwhile
	for {
		if dl != nil && l.Pending() && !armed {
			flushAt = time.Now().Add(PartialFlush)
			if dl.SetReadDeadline(flushAt) != nil {
				dl = nil // no deadlines on this reader: partial lines wait for their end
			} else {
				armed, probed = true, false
			}
		}
		n, err := r.Read(buf)
		if armed && l.Pending() && n == 0 && !probed && errors.Is(err, os.ErrDeadlineExceeded) {
			// The deadline also passes while this loop is busy (a pump behind a fast app, on a loaded machine), and a
			// read past it fails before it looks at the pipe: look once more, waiting no longer than a millisecond,
			// before a line is cut. Only an empty pipe means the app has been silent (TestLogRotationE2E_Issue12
			// saw lines cut in the event stream once an app's pipe held 1 MiB).
			probed = true
			if dl.SetReadDeadline(time.Now().Add(time.Millisecond)) == nil {
				continue
			}
		}
		if armed && probed && n > 0 {
			// The app was writing: back to the line's own deadline (past already, so the next read looks again).
			probed = false
			if dl.SetReadDeadline(flushAt) != nil {
				dl = nil
				armed = false
			}
		}
		if n > 0 {
			if l.Write(buf[:n]) && armed && l.Pending() {
				// The line the deadline was for has ended: the one now pending gets a deadline of its own rather
				// than the rest of the last one's (a pending line with none left would be cut after 1 ms of quiet).
				flushAt, probed = time.Now().Add(PartialFlush), false
				if dl.SetReadDeadline(flushAt) != nil {
					dl, armed = nil, false
				}
			}
			if n == len(buf) && len(buf) < maxRead {
				buf = make([]byte, 2*len(buf))
			}
		}
		if armed && (!l.Pending() || errors.Is(err, os.ErrDeadlineExceeded)) {
			l.FlushPartial()
			// probed too: a deadline restored after a probe would otherwise outlive the line it was for, and end the
			// copy with a timeout (it did: an app's pump stopped, TestSubscriberMemory_Issue11Item9).
			armed, probed = false, false
			if dl.SetReadDeadline(time.Time{}) != nil {
				dl = nil
			}
			if errors.Is(err, os.ErrDeadlineExceeded) {
				continue
			}
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			// Only this loop sets deadlines, and a timeout never ends the copy: an app whose pump stopped would block
			// on a full pipe for good. Whatever deadline is left is cleared and the copy goes on.
			if d, ok := r.(interface{ SetReadDeadline(time.Time) error }); ok && d.SetReadDeadline(time.Time{}) == nil {
				armed, probed = false, false
				continue
			}
		}
		if err != nil {
			l.End()
			if errors.Is(err, io.EOF) || errors.Is(err, os.ErrClosed) {
				return nil
			}
			return err
		}
	}
}

// appendPiece appends a piece of a line to b in format f and emits it (when emit is not nil and the piece is not
// empty). cont: the line's start was appended before, so no prefix; end: the piece ends the line. In JSON format
// every piece is a record of its own.
func (f Format) appendPiece(b, piece []byte, cont, end bool, emit func(Line)) []byte {
	if f.JSON || (!cont && end) {
		return f.appendEmit(b, piece, emit)
	}
	start := len(b)
	if !cont && f.TimeLayout != "" {
		b = appendStamp(b, time.Now(), f.TimeLayout)
		b = append(b, ':', ' ')
	}
	b = append(b, piece...)
	if emit != nil && len(piece) > 0 {
		emit(Line{Stream: f.Stream, Text: b[start:]})
	}
	if end {
		b = append(b, '\n')
	}
	return b
}

func write(dst []*File, b []byte, onErr func(error)) {
	if len(b) == 0 {
		return
	}
	for _, d := range dst {
		if _, err := d.Write(b); err != nil && onErr != nil {
			onErr(err)
		}
	}
}

type jsonLine struct {
	Message   string `json:"message"`
	Timestamp string `json:"timestamp"`
	Type      string `json:"type"`
	ProcessID int    `json:"process_id"`
	AppName   string `json:"app_name"`
}

// appendLine appends line, formatted, with its newline, to b.
// appendEmit appends line in format f to b, and emits it as appended (when emit is not nil).
func (f Format) appendEmit(b, line []byte, emit func(Line)) []byte {
	start := len(b)
	b = f.appendLine(b, line)
	if emit != nil {
		emit(Line{Stream: f.Stream, Text: b[start : len(b)-1]})
	}
	return b
}

// appendStamp appends t formatted with layout, in which a NUL byte (config.WeekdayMark: dayjs's d, which Go
// layouts cannot express) stands for the day of the week, 0 (Sunday) to 6.
func appendStamp(b []byte, t time.Time, layout string) []byte {
	for {
		i := strings.IndexByte(layout, 0)
		if i < 0 {
			return t.AppendFormat(b, layout)
		}
		b = t.AppendFormat(b, layout[:i])
		b = append(b, '0'+byte(t.Weekday()))
		layout = layout[i+1:]
	}
}

func (f Format) appendLine(b, line []byte) []byte {
	if f.JSON {
		layout := f.TimeLayout
		if layout == "" {
			layout = time.RFC3339Nano
		}
		j, _ := json.Marshal(jsonLine{Message: string(line), Timestamp: string(appendStamp(nil, time.Now(), layout)), Type: f.Stream,
			ProcessID: f.ID, AppName: f.AppName})
		b = append(b, j...)
		return append(b, '\n')
	}
	if f.TimeLayout != "" {
		b = appendStamp(b, time.Now(), f.TimeLayout)
		b = append(b, ':', ' ')
	}
	b = append(b, line...)
	return append(b, '\n')
}
