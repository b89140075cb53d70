// Package logfile turns an application's stdout and stderr into log files: it copies a pipe to one or more files in
// whole lines (so instances that share a merged file never interleave inside a line), optionally prefixes each line
// with a timestamp or wraps it as JSON, hands each line to a live subscriber, and reopens or truncates the files on
// request.
package logfile

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/gpmd/gpm/platform/safefs"
)

// File is an append-only log file that can be reopened (after an outside rotation) and truncated (flush).
// A File with an empty path discards everything.
//
// Its path comes from an app's configuration and the daemon may be root: every open goes through safefs, for the
// app's user, so that a link that user planted (before start, or in place of the file before a reopen) is refused
// rather than followed, and nothing but the verified descriptor is ever truncated.
type File struct {
	mu    sync.Mutex
	path  string
	owner int // the app's uid, trusted by safefs besides root; -1: the daemon's own
	f     *os.File
	// cut is why the file ends inside a line ("" when it does not): a short write (a full disk) left part of a
	// line, and the next write must not glue its first line to it.
	cut string
}

// Open opens path for appending on behalf of an app running as uid owner (-1: as the daemon), creating missing
// directories, under safefs's rules: it fails with an error wrapping safefs.ErrUnsafe when the path could lead
// the daemon where the app's user chose. An empty path, "NULL" or os.DevNull gives a File that discards.
func Open(path string, owner int) (*File, error) {
	if path == "" || path == "NULL" || path == os.DevNull {
		return &File{owner: owner}, nil
	}
	lf := &File{path: path, owner: owner}
	f, err := lf.openPath()
	if err != nil {
		return nil, err
	}
	lf.f = f
	return lf, nil
}

func (l *File) openPath() (*os.File, error) {
	f, err := safefs.OpenFile(l.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640, l.owner)
	if err != nil {
		return nil, fmt.Errorf("log file: %w", err)
	}
	return f, nil
}

// Path is the file's path, "" when it discards.
func (l *File) Path() string { return l.path }

// Write appends p in one write(2): with O_APPEND, concurrent writers to the same file never split it.
//
// A short write (ENOSPC, EDQUOT, EFBIG) leaves the start of a line in the file. The line is then finished, at the
// start of the next write, with cutMarker and a newline, in the same write(2): the cut line says it was cut and
// why, and the next line starts a line of its own ("line 15729 zzzzz [gpm: ...]" then "line 38000", not
// "line 15729 zzzzzline 38000"). Finishing the line with its lost bytes instead would need them kept, and the
// lines lost after it would still be missing. Only this File knows of its cut: another File appending to the
// same path (merged instances) may still land after it.
func (l *File) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return len(p), nil
	}
	b := p
	if l.cut != "" {
		b = make([]byte, 0, len(l.cut)+len(cutMarker)+3+len(p))
		b = append(append(append(append(b, cutMarker...), ": "...), l.cut...), "]\n"...)
		b = append(b, p...)
	}
	n, err := l.f.Write(b)
	if n > 0 {
		l.cut = ""
		// Only a short write cuts a line: Copy writes the start of a line on purpose when its end is slow to come.
		if n < len(b) && b[n-1] != '\n' {
			l.cut = "write failed"
			var pe *fs.PathError
			if errors.As(err, &pe) {
				l.cut = pe.Err.Error()
			}
		}
	}
	// What the caller sees is about p: the marker is not its bytes.
	n = max(0, n-(len(b)-len(p)))
	return n, err
}

// cutMarker ends a line that a failed write cut short, followed by why and "]".
const cutMarker = " [gpm: line cut short by a failed write"

// Reopen opens the path again, so that a file renamed away by logrotate stops growing and a new one starts. When
// the new open fails (the path is now a link the app's user planted, say), the File keeps writing to the file it
// had and the error says why.
func (l *File) Reopen() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.path == "" {
		return nil
	}
	f, err := l.openPath()
	if err != nil {
		return err
	}
	if l.f != nil {
		l.f.Close()
	}
	l.f = f
	return nil
}

// Retarget moves the File to path (a changed configuration): writers holding it write there from now on, opened
// for the owner given to Open. An empty path, "NULL" or os.DevNull makes it discard; so does a path that fails to
// open (the error says why).
func (l *File) Retarget(path string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if path == "NULL" || path == os.DevNull {
		path = ""
	}
	if path == l.path {
		return nil
	}
	if l.f != nil {
		l.f.Close()
		l.f = nil
	}
	l.path, l.cut = path, ""
	if path == "" {
		return nil
	}
	f, err := l.openPath()
	if err != nil {
		return err
	}
	l.f = f
	return nil
}

// Truncate empties the file through the descriptor opened (and verified) by Open, never by path: the path may
// have become a link since.
func (l *File) Truncate() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	if err := l.f.Truncate(0); err != nil {
		return fmt.Errorf("flush %s: %w", l.path, err)
	}
	l.cut = ""
	return nil
}

// Close closes the file.
func (l *File) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
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

// maxLine bounds a line held while waiting for its newline; a longer one is written as it is.
const maxLine = 64 << 10

// PartialFlush is how long the start of a line without its newline waits in Copy before it is written as it is (a
// progress line: "." every 200 ms). Lines an app writes in several pieces arrive within microseconds, so they stay
// whole; PM2 writes every chunk at once.
const PartialFlush = 250 * time.Millisecond

// Copy reads r until EOF and writes every line to each of dst in format f, then calls emit (when not nil) with each
// line. Lines are written whole. A line whose newline has not come PartialFlush after its first byte is written as
// far as it goes, unmarked, and its rest follows it (without a second prefix) when it comes; that needs r to have
// read deadlines (a pipe from os.Pipe does), otherwise it waits for its newline, maxLine bytes or EOF. A last line
// without a newline is written at EOF. In JSON format every piece is a record of its own. It returns the first
// read error other than EOF; write errors are reported through onErr and do not stop the copy (a full disk must
// not block the app on a full pipe).
func Copy(r io.Reader, dst []*File, f Format, emit func(Line), onErr func(error)) error {
	// The buffer grows while reads fill it: an idle app costs 2 KB per stream, a chatty one reads 64 KB at a time.
	buf := make([]byte, 2<<10)
	var pending []byte
	var out []byte
	dl, _ := r.(interface{ SetReadDeadline(time.Time) error })
	armed := false // a read deadline is set for the partial line in pending
	cont := false  // the start of the current line was written already
	for {
		if dl != nil && len(pending) > 0 && !armed {
			if dl.SetReadDeadline(time.Now().Add(PartialFlush)) != nil {
				dl = nil // no deadlines on this reader: partial lines wait for their end
			} else {
				armed = true
			}
		}
		n, err := r.Read(buf)
		if n > 0 {
			chunk := buf[:n]
			out = out[:0]
			start := 0
			for i, c := range chunk {
				if c != '\n' {
					continue
				}
				line := chunk[start:i]
				if len(pending) > 0 {
					line = append(pending, line...)
					pending = pending[:0]
				}
				out = f.appendPiece(out, line, cont, true, emit)
				cont = false
				start = i + 1
			}
			pending = append(pending, chunk[start:]...)
			if len(pending) >= maxLine {
				out = f.appendPiece(out, pending, cont, true, emit)
				pending, cont = pending[:0], false
			}
			write(dst, out, onErr)
			if n == len(buf) && len(buf) < maxRead {
				buf = make([]byte, 2*len(buf))
			}
		}
		if armed && (len(pending) == 0 || errors.Is(err, os.ErrDeadlineExceeded)) {
			if len(pending) > 0 {
				write(dst, f.appendPiece(out[:0], pending, cont, false, emit), onErr)
				pending, cont = pending[:0], !f.JSON
			}
			armed = false
			if dl.SetReadDeadline(time.Time{}) != nil {
				dl = nil
			}
			if errors.Is(err, os.ErrDeadlineExceeded) {
				continue
			}
		}
		if err != nil {
			if len(pending) > 0 || cont {
				write(dst, f.appendPiece(out[:0], pending, cont, true, emit), onErr)
			}
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
