// Package journal writes entries to the systemd journal over its native protocol, and reads them back through
// journalctl. The protocol (https://systemd.io/JOURNAL_NATIVE_PROTOCOL/): one datagram per entry to
// /run/systemd/journal/socket, each field "KEY=value\n", or, for a value holding a newline, "KEY\n", its length as
// a little-endian uint64, the value and "\n". go-systemd's journal package speaks it too, but to a fixed socket
// path and through a map (random field order, no repeated keys); this one is small and takes a path.
package journal

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultSocket is journald's native socket.
const DefaultSocket = "/run/systemd/journal/socket"

// MaxEntry bounds one entry's datagram. journald takes larger ones through a memfd (not implemented here); gpm's
// lines are at most 64 KiB (logfile's maxLine) plus their fields, well under it.
const MaxEntry = 256 << 10

// sendBuffer is the SO_SNDBUF asked for, so that a burst of lines waits in the kernel rather than in the writer.
const sendBuffer = 8 << 20

// Priorities of syslog(3) that gpm uses.
const (
	PriErr  = 3 // an app's stderr
	PriInfo = 6 // an app's stdout
)

// Field is one KEY=value of an entry. Keys are [A-Z0-9_], not starting with '_' or a digit, at most 64 bytes;
// journald drops others.
type Field struct {
	Key   string
	Value string
}

// Conn sends entries to one journal socket. It is safe for concurrent use: each Send is one datagram.
type Conn struct {
	path string
	addr *net.UnixAddr
	c    *net.UnixConn
	pool sync.Pool // *[]byte encode buffers
}

// Dial prepares to send to the journal socket at path (DefaultSocket when ""). It fails when nothing listens
// there: the error says which path and that systemd-journald is not running.
func Dial(path string) (*Conn, error) {
	if path == "" {
		path = DefaultSocket
	}
	st, err := os.Stat(path)
	if err == nil && st.Mode()&fs.ModeSocket == 0 {
		err = errors.New("not a socket")
	}
	if err != nil {
		return nil, fmt.Errorf("journal: no journal socket at %s (is systemd-journald running?): %w", path, err)
	}
	// Unconnected (autobound): each send names the socket, so a journald restarted in between is found again.
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Net: "unixgram"})
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	c.SetWriteBuffer(sendBuffer) // best effort: the kernel caps it at wmem_max
	return &Conn{path: path, addr: &net.UnixAddr{Name: path, Net: "unixgram"}, c: c}, nil
}

// Path is the socket Conn sends to.
func (c *Conn) Path() string { return c.path }

// Send sends one entry made of fields, in their order.
func (c *Conn) Send(fields ...Field) error {
	bp, _ := c.pool.Get().(*[]byte)
	if bp == nil {
		bp = new([]byte)
	}
	b := (*bp)[:0]
	for _, f := range fields {
		b = Append(b, f.Key, f.Value)
	}
	defer func() { *bp = b; c.pool.Put(bp) }()
	if len(b) > MaxEntry {
		return fmt.Errorf("journal: entry of %d bytes is over the limit of %d (journal.MaxEntry)", len(b), MaxEntry)
	}
	if _, err := c.c.WriteToUnix(b, c.addr); err != nil {
		return fmt.Errorf("journal: send to %s: %w", c.path, err)
	}
	return nil
}

// Close closes the socket.
func (c *Conn) Close() error { return c.c.Close() }

// Append appends the field key=value to b in the native protocol's format.
func Append(b []byte, key, value string) []byte {
	b = append(b, key...)
	if !strings.Contains(value, "\n") {
		b = append(b, '=')
		b = append(b, value...)
		return append(b, '\n')
	}
	b = append(b, '\n')
	b = binary.LittleEndian.AppendUint64(b, uint64(len(value)))
	b = append(b, value...)
	return append(b, '\n')
}

// Entry is an entry read back: its message and priority, and the fields asked for.
type Entry struct {
	Message  string
	Priority int
	Fields   map[string]string
}

// Read calls fn with the last n entries that match every KEY=value of matches, oldest first, as `journalctl -o
// json -n N KEY=value...` gives them; with follow, it then goes on with new entries until ctx ends. It needs
// journalctl in PATH. Not for the daemon: it reaps every child itself (wait4(-1)), which would steal journalctl's
// exit from os/exec; the CLI reads, the daemon writes.
func Read(ctx context.Context, matches []string, n int, follow bool, fn func(Entry) error) error {
	args := []string{"-o", "json", "--no-pager", "--all", "-n", strconv.Itoa(n)}
	if follow {
		args = append(args, "-f")
	}
	cmd := exec.CommandContext(ctx, "journalctl", append(args, matches...)...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("journalctl: %w", err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	// Once journalctl is gone (or killed, below), a process it left holding its stdout or stderr must not keep
	// Wait waiting for the pipes to close.
	cmd.WaitDelay = time.Second
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("journalctl: %w", err)
	}
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 64<<10), maxReadLine)
	var ferr error
	for sc.Scan() {
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(sc.Bytes(), &raw); err != nil {
			continue
		}
		e := Entry{Fields: map[string]string{}}
		for k, v := range raw {
			e.Fields[k] = value(v)
		}
		e.Message = e.Fields["MESSAGE"]
		e.Priority, _ = strconv.Atoi(e.Fields["PRIORITY"])
		if ferr = fn(e); ferr != nil {
			break
		}
	}
	serr := sc.Err()
	if ferr != nil || serr != nil {
		// Nobody reads its output any more: journalctl, blocked on a full pipe, would never exit, and Wait would
		// wait for it for ever (an entry over maxReadLine, which any local process can log with the app's fields).
		cmd.Process.Kill()
	}
	werr := cmd.Wait()
	switch {
	case ferr != nil:
		return ferr
	case errors.Is(serr, bufio.ErrTooLong):
		return fmt.Errorf("journalctl: an entry over %d bytes of JSON (4*journal.MaxEntry): %w", maxReadLine, serr)
	case serr != nil:
		return fmt.Errorf("journalctl: %w", serr)
	case ctx.Err() != nil:
		return nil
	case werr != nil:
		return fmt.Errorf("journalctl: %w: %s", werr, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// maxReadLine bounds one entry of journalctl's output that Read takes: JSON writes a value that is not UTF-8 as
// an array of numbers, up to 4 bytes for each byte of it.
const maxReadLine = 4 * MaxEntry

// value decodes a field of journalctl's JSON: a string, an array of bytes (a value that is not valid UTF-8 or
// holds control characters), or null.
func value(v json.RawMessage) string {
	var s string
	if json.Unmarshal(v, &s) == nil {
		return s
	}
	var bs []byte
	var ints []int
	if json.Unmarshal(v, &ints) == nil {
		for _, i := range ints {
			bs = append(bs, byte(i))
		}
		return string(bs)
	}
	return ""
}
