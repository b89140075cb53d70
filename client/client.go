// Package client is gpm's programmatic API: it connects to the daemon of a GPM_HOME (starting one when asked) and
// calls it over the control socket. The gpm CLI uses nothing else, so whatever the CLI can do, a Go program can.
package client

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/gpmd/gpm/api"
	"github.com/gpmd/gpm/platform"
)

// ErrNotRunning means no daemon answers for the home and none was to be started.
var ErrNotRunning = errors.New("no gpm daemon is running")

// ErrNoAnswer means the daemon accepted the connection but did not answer within the client's timeout (SetTimeout):
// it is wedged, or it no longer serves its socket. The error that wraps it names the socket and the daemon's log.
var ErrNoAnswer = errors.New("the daemon did not answer")

// DefaultTimeout is how long a call waits for the daemon's answer unless GPM_TIMEOUT (api.TimeoutEnv) or SetTimeout
// says otherwise.
const DefaultTimeout = 30 * time.Second

// Client is a connection to one daemon. Calls are serialized; it is safe for concurrent use.
type Client struct {
	home    string
	mu      sync.Mutex
	conn    net.Conn // replaced under mu and connMu (exchange), read under either
	r       *bufio.Reader
	next    uint64
	timeout time.Duration
	// lost is set while a request is out without its whole answer read: a call that gave up (its timeout, its
	// context, a write to the caller's writer that failed) leaves that answer, or the rest of it, on its way, and
	// the next call would read it as its own. The next call connects again instead.
	lost bool

	connMu sync.Mutex // conn and closed, for Close, which does not wait for a call in progress
	closed bool
}

// Dial connects to the daemon of home. It returns ErrNotRunning (wrapped) when none listens, and an error when
// GPM_TIMEOUT is set but is not a duration.
func Dial(ctx context.Context, home string) (*Client, error) {
	timeout, err := TimeoutFromEnv()
	if err != nil {
		return nil, err
	}
	conn, err := dial(ctx, home)
	if err != nil {
		return nil, err
	}
	return &Client{home: home, conn: conn, r: bufio.NewReaderSize(conn, 64<<10), timeout: timeout}, nil
}

// TimeoutFromEnv returns the timeout that GPM_TIMEOUT (api.TimeoutEnv) sets: a Go duration ("45s", "2m") or a
// number of seconds; 0 waits for ever. Unset or empty, it is DefaultTimeout.
func TimeoutFromEnv() (time.Duration, error) {
	v := os.Getenv(api.TimeoutEnv)
	if v == "" {
		return DefaultTimeout, nil
	}
	return ParseTimeout(v)
}

// ParseTimeout reads a timeout as GPM_TIMEOUT and --timeout give it: a Go duration or a number of seconds, not
// negative; 0 waits for ever.
func ParseTimeout(v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil {
		s, serr := strconv.ParseFloat(v, 64)
		if serr != nil {
			return 0, fmt.Errorf("timeout %q: not a duration (45s, 2m) nor a number of seconds", v)
		}
		d = time.Duration(s * float64(time.Second))
	}
	if d < 0 {
		return 0, fmt.Errorf("timeout %q: negative", v)
	}
	return d, nil
}

// SetTimeout sets how long a call waits for the daemon; 0 waits for ever. A call that only reads (list, version,
// ...) fails with ErrNoAnswer when no answer came within d. A call that may legitimately take long (start, stop,
// restart, reload, scale, delete, resurrect, kill: apps may take their kill_timeout to stop, or their
// listen_timeout to be ready) checks, each time d passes without an answer, that the daemon still answers a ping on
// a second connection; it fails with ErrNoAnswer only when that ping gets no answer within d either. A fast call
// therefore costs no extra round trip.
func (c *Client) SetTimeout(d time.Duration) {
	c.mu.Lock()
	c.timeout = d
	c.mu.Unlock()
}

// patient are the methods whose answer may take long while the daemon is healthy: while they wait, the client pings
// the daemon rather than giving up (see SetTimeout).
var patient = map[string]bool{
	api.MethodStart: true, api.MethodStop: true, api.MethodDelete: true, api.MethodRestart: true,
	api.MethodReload: true, api.MethodScale: true, api.MethodResurrect: true, api.MethodKill: true,
}

func dial(ctx context.Context, home string) (net.Conn, error) {
	timeout := 2 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
	}
	conn, err := platform.Dial(api.SocketPath(home), timeout)
	// EAGAIN: the daemon's listen backlog is full while it accepts a burst of connections; room comes back soon.
	deadline := time.Now().Add(timeout)
	for delay := 5 * time.Millisecond; errors.Is(err, syscall.EAGAIN) && time.Now().Add(delay).Before(deadline); delay = min(2*delay, 200*time.Millisecond) {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(delay):
		}
		conn, err = platform.Dial(api.SocketPath(home), time.Until(deadline))
	}
	if err != nil {
		if platform.IsNotRunning(err) {
			return nil, fmt.Errorf("%w for %s", ErrNotRunning, home)
		}
		return nil, fmt.Errorf("connect to daemon: %w", err)
	}
	return conn, nil
}

// Home is the GPM_HOME this client talks to.
func (c *Client) Home() string { return c.home }

// Close closes the connection.
func (c *Client) Close() error {
	c.connMu.Lock()
	defer c.connMu.Unlock()
	c.closed = true
	return c.conn.Close()
}

// reconnect replaces a connection whose request/answer order was lost (lost) by a new one. Call holds c.mu.
func (c *Client) reconnect(ctx context.Context) error {
	conn, err := dial(ctx, c.home)
	if err != nil {
		return err
	}
	c.connMu.Lock()
	defer c.connMu.Unlock()
	if c.closed {
		conn.Close()
		return net.ErrClosed
	}
	c.conn.Close()
	c.conn, c.r, c.lost = conn, bufio.NewReaderSize(conn, 64<<10), false
	return nil
}

// Call sends method with params and decodes the result into result (which may be nil). A daemon-side failure is
// returned as *api.Error; no answer within the timeout (SetTimeout) as an error wrapping ErrNoAnswer; a request
// longer than api.MaxRequest as an *api.Error with code api.CodeTooLarge, without sending it.
func (c *Client) Call(ctx context.Context, method string, params, result any) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var line []byte
	id, err := c.exchange(ctx, method, params, func(uint64) (err error) {
		line, err = readLine(c.r, line)
		return err
	})
	if err != nil {
		return err
	}
	if apiErr, err := decodeReply(line, id, result); apiErr != nil {
		return apiErr
	} else if err != nil {
		return fmt.Errorf("%s: decode reply: %w", method, err)
	}
	return nil
}

// CopyResult is Call with the result copied to w, JSON as the daemon encoded it, instead of decoded: an array or
// an object goes to w as its bytes arrive (`gpm jlist` of 1000 apps is 1 MB, which the client then neither holds
// nor scans), any other result once the reply is whole. It returns the number of bytes written; a null or absent
// result writes nothing. Errors are Call's; one that comes after the first bytes (the daemon closed the
// connection, w failed) leaves part of the result in w.
func (c *Client) CopyResult(ctx context.Context, method string, params any, w io.Writer) (int64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	rc := resultCopier{w: bufio.NewWriterSize(w, 64<<10)}
	id, err := c.exchange(ctx, method, params, func(id uint64) error { return rc.read(c.r, id) })
	if err != nil {
		return rc.n, err
	}
	return rc.n, rc.finish(method, id)
}

// exchange sends one request and calls read (with the request's id) until it has the whole answer line: read
// returns nil then, or an error of the connection (a deadline passed: the answer may still come). Call holds c.mu.
func (c *Client) exchange(ctx context.Context, method string, params any, read func(id uint64) error) (uint64, error) {
	c.next++
	id := c.next
	b, err := api.RequestLine(id, method, params)
	if err != nil {
		return id, fmt.Errorf("%s: encode: %w", method, err)
	}
	if len(b) > api.MaxRequest {
		return id, api.TooLarge(len(b))
	}
	if c.lost {
		if err := c.reconnect(ctx); err != nil {
			return id, fmt.Errorf("%s: connect again after a call that got no answer: %w", method, err)
		}
	}
	c.lost = true // until the whole answer is read
	conn := c.conn
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	c.arm(ctx, c.conn.SetWriteDeadline)
	if _, err := c.conn.Write(b); err != nil {
		if ctx.Err() != nil {
			return id, fmt.Errorf("%s: %w", method, ctx.Err())
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return id, c.noAnswer(fmt.Sprintf("accepted the connection but did not read the %s request within %v", method, c.timeout))
		}
		// The daemon may have refused the request with an answer before closing (too large, too many connections):
		// that answer says more than EPIPE.
		c.arm(ctx, c.conn.SetReadDeadline)
		if line, rerr := c.r.ReadBytes('\n'); rerr == nil {
			if resp, derr := decodeReply(line, id, nil); derr == nil && resp != nil {
				return id, resp
			}
		}
		return id, fmt.Errorf("%s: %w", method, err)
	}
	for {
		c.arm(ctx, c.conn.SetReadDeadline)
		err := read(id)
		if err == nil {
			c.lost = false
			return id, nil
		}
		if errors.Is(err, errWrite) {
			return id, err
		}
		if ctx.Err() != nil {
			return id, fmt.Errorf("%s: %w", method, ctx.Err())
		}
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			return id, fmt.Errorf("%s: daemon closed the connection: %w", method, err)
		}
		if !patient[method] {
			return id, c.noAnswer(fmt.Sprintf("accepted the connection but did not answer %s within %v", method, c.timeout))
		}
		if perr := c.probe(ctx); perr != nil {
			if ctx.Err() != nil {
				return id, fmt.Errorf("%s: %w", method, ctx.Err())
			}
			return id, c.noAnswer(fmt.Sprintf("has not answered %s for %v, and did not answer a ping within %v either (%v)", method, c.timeout, c.timeout, perr))
		}
	}
}

// readLine appends the next line of r, newline included, to line. Each fragment bufio hands out is copied once,
// into line: ReadBytes copied each into a buffer of its own, then all of them into one, and Call then appended that
// to line (three copies of 1 MB, and their garbage, for jlist of 1000 apps).
func readLine(r *bufio.Reader, line []byte) ([]byte, error) {
	for {
		frag, err := r.ReadSlice('\n')
		line = append(line, frag...)
		if !errors.Is(err, bufio.ErrBufferFull) {
			return line, err
		}
	}
}

// decodeReply decodes one reply line to request id: the daemon's error, or its result into result (skipped when
// nil). One pass over the reply: its result is decoded straight into the caller's value (the decoder follows a
// non-nil pointer held in an interface), not kept as raw JSON and decoded again. A *json.RawMessage result gets
// the daemon's bytes without any pass at all when the line has the form api.ResultLine writes (rawResult).
func decodeReply(line []byte, id uint64, result any) (*api.Error, error) {
	if raw, ok := result.(*json.RawMessage); ok {
		if v, ok := rawResult(line, id); ok {
			*raw = v
			return nil, nil
		}
	}
	var resp struct {
		Result any        `json:"result"`
		Error  *api.Error `json:"error"`
	}
	resp.Result = result
	if result == nil {
		resp.Result = new(json.RawMessage) // skipped over, not decoded into maps
	}
	err := json.Unmarshal(line, &resp)
	return resp.Error, err
}

// rawResult returns the result of a reply line as api.ResultLine writes it, `{"id":ID,"result":VALUE}` and a
// newline, where VALUE is an array or an object, without scanning it: `gpm jlist` prints the daemon's answer as
// it came, and validating 1 MB (1000 apps) only to copy it out of its envelope was a fifth of the call. The
// result is the last member (ResultLine puts it there), so the line's closing brace ends VALUE, and VALUE must
// close with the bracket it opened with. The bytes are the daemon's own encoding (encoding/json's), from a peer
// the socket authenticated. ok is false for every other line (an error, a scalar result, an encoding that
// differs), which the caller decodes instead. The returned slice shares line's memory.
func rawResult(line []byte, id uint64) (json.RawMessage, bool) {
	v, ok := bytes.CutPrefix(line, resultHead(id))
	if !ok {
		return nil, false
	}
	v, ok = bytes.CutSuffix(v, []byte("}\n"))
	if !ok || len(v) < 2 {
		return nil, false
	}
	if open, end := v[0], v[len(v)-1]; (open != '[' || end != ']') && (open != '{' || end != '}') {
		return nil, false
	}
	return v, true
}

// arm sets the deadline that set (the conn's read or write deadline) governs to the timeout from now, or clears it,
// unless ctx is done: the context's AfterFunc sets a past deadline, which must not be overwritten.
func (c *Client) arm(ctx context.Context, set func(time.Time) error) {
	var dl time.Time
	if c.timeout > 0 {
		dl = time.Now().Add(c.timeout)
	}
	set(dl)
	if ctx.Err() != nil {
		set(time.Unix(1, 0))
	}
}

// probe checks, on a second connection, that the daemon still answers a ping within the timeout. An error answer
// (such as too many connections) counts as an answer.
func (c *Client) probe(ctx context.Context) error {
	p, err := Dial(ctx, c.home)
	if err != nil {
		return err
	}
	defer p.Close()
	p.timeout = c.timeout
	err = p.Ping(ctx)
	var ae *api.Error
	if errors.As(err, &ae) {
		return nil
	}
	return err
}

// noAnswerError is an ErrNoAnswer with what the daemon did not do, where it is, and where its log is.
type noAnswerError struct{ msg string }

func (e *noAnswerError) Error() string { return e.msg }
func (e *noAnswerError) Unwrap() error { return ErrNoAnswer }

// noAnswer says that the daemon did not do what within the timeout.
func (c *Client) noAnswer(what string) error {
	log := filepath.Join(c.home, api.DaemonLog)
	if api.System() {
		log = "journalctl -u gpm"
	}
	return &noAnswerError{fmt.Sprintf("the daemon at %s %s; its log: %s (%s=DURATION or gpm --timeout DURATION sets the wait, 0 waits for ever)",
		api.SocketPath(c.home), what, log, api.TimeoutEnv)}
}

// Stream opens a new connection for an event stream (api.MethodLogs or api.MethodSubscribe) and calls fn with each
// event until fn returns an error, the stream ends (api.EventEnd), or ctx is done. A nil return means the stream
// ended normally.
func (c *Client) Stream(ctx context.Context, method string, params any, fn func(api.Event) error) error {
	conn, err := dial(ctx, c.home)
	if err != nil {
		return err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	b, err := api.RequestLine(1, method, params)
	if err != nil {
		return fmt.Errorf("%s: encode: %w", method, err)
	}
	// Only the first answer has a deadline: events may be minutes apart.
	if c.timeout > 0 {
		conn.SetDeadline(time.Now().Add(c.timeout))
	}
	if _, err := conn.Write(b); err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return c.noAnswer(fmt.Sprintf("accepted the connection but did not read the %s request within %v", method, c.timeout))
		}
		return fmt.Errorf("%s: %w", method, err)
	}
	dec := json.NewDecoder(bufio.NewReaderSize(conn, 64<<10))
	for first := true; ; first = false {
		var resp api.Response
		if err := dec.Decode(&resp); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if first && errors.Is(err, os.ErrDeadlineExceeded) {
				return c.noAnswer(fmt.Sprintf("accepted the connection but did not answer %s within %v", method, c.timeout))
			}
			return fmt.Errorf("%s: stream: %w", method, err)
		}
		if first {
			conn.SetDeadline(time.Time{})
		}
		if resp.Error != nil {
			return resp.Error
		}
		if resp.Event == nil {
			continue
		}
		if resp.Event.Type == api.EventEnd {
			return nil
		}
		if err := fn(*resp.Event); err != nil {
			return err
		}
	}
}

// callerEnv is the environment this program passes to apps it starts.
func callerEnv() map[string]string {
	m := map[string]string{}
	for _, kv := range os.Environ() {
		for i := 0; i < len(kv); i++ {
			if kv[i] == '=' {
				m[kv[:i]] = kv[i+1:]
				break
			}
		}
	}
	return m
}

// waitGone waits until no daemon listens for the home (within the timeout, 30 s when it is 0).
func (c *Client) waitGone(ctx context.Context) error {
	deadline := time.Now().Add(cmp.Or(c.timeout, DefaultTimeout))
	for delay := 5 * time.Millisecond; ; delay = min(2*delay, 100*time.Millisecond) {
		conn, err := dial(ctx, c.home)
		if errors.Is(err, ErrNotRunning) {
			return nil
		}
		if err == nil {
			conn.Close()
		}
		if time.Now().Add(delay).After(deadline) {
			return c.noAnswer(fmt.Sprintf("closed the connection during kill but still listens after %v", cmp.Or(c.timeout, DefaultTimeout)))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
	}
}

// waitClosed waits until the daemon closes the connection: once its apps are stopped, it only has to let go of its
// home, so the timeout applies as it is.
func (c *Client) waitClosed(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	conn := c.conn
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	c.arm(ctx, c.conn.SetReadDeadline)
	var b [64]byte
	for {
		if _, err := c.r.Read(b[:]); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return c.noAnswer(fmt.Sprintf("stopped every app but did not exit within %v", c.timeout))
			}
			return nil
		}
	}
}
