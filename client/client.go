// Package client is gpm's programmatic API: it connects to the daemon of a GPM_HOME (starting one when asked) and
// calls it over the control socket. The gpm CLI uses nothing else, so whatever the CLI can do, a Go program can.
package client

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	"github.com/gpmd/gpm/api"
	"github.com/gpmd/gpm/platform"
)

// ErrNotRunning means no daemon answers for the home and none was to be started.
var ErrNotRunning = errors.New("no gpm daemon is running")

// Client is a connection to one daemon. Calls are serialized; it is safe for concurrent use.
type Client struct {
	home string
	mu   sync.Mutex
	conn net.Conn
	r    *bufio.Reader
	next uint64
}

// Dial connects to the daemon of home. It returns ErrNotRunning (wrapped) when none listens.
func Dial(ctx context.Context, home string) (*Client, error) {
	conn, err := dial(ctx, home)
	if err != nil {
		return nil, err
	}
	return &Client{home: home, conn: conn, r: bufio.NewReaderSize(conn, 64<<10)}, nil
}

func dial(ctx context.Context, home string) (net.Conn, error) {
	timeout := 2 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
	}
	conn, err := platform.Dial(api.SocketPath(home), timeout)
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
func (c *Client) Close() error { return c.conn.Close() }

// Call sends method with params and decodes the result into result (which may be nil). A daemon-side failure is
// returned as *api.Error.
func (c *Client) Call(ctx context.Context, method string, params, result any) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.next++
	b, err := api.RequestLine(c.next, method, params)
	if err != nil {
		return fmt.Errorf("%s: encode: %w", method, err)
	}
	stop := context.AfterFunc(ctx, func() { c.conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if _, err := c.conn.Write(b); err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	line, err := c.r.ReadBytes('\n')
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("%s: %w", method, ctx.Err())
		}
		return fmt.Errorf("%s: daemon closed the connection: %w", method, err)
	}
	// One pass over the reply: its result is decoded straight into the caller's value (the decoder follows a
	// non-nil pointer held in an interface), not kept as raw JSON and decoded again.
	var resp struct {
		Result any        `json:"result"`
		Error  *api.Error `json:"error"`
	}
	resp.Result = result
	if result == nil {
		resp.Result = new(json.RawMessage) // skipped over, not decoded into maps
	}
	err = json.Unmarshal(line, &resp)
	if resp.Error != nil {
		return resp.Error
	}
	if err != nil {
		return fmt.Errorf("%s: decode reply: %w", method, err)
	}
	return nil
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
	if _, err := conn.Write(b); err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	dec := json.NewDecoder(bufio.NewReaderSize(conn, 64<<10))
	for {
		var resp api.Response
		if err := dec.Decode(&resp); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("%s: stream: %w", method, err)
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

// waitClosed waits until the daemon closes the connection.
func (c *Client) waitClosed(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	stop := context.AfterFunc(ctx, func() { c.conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	var b [64]byte
	for {
		if _, err := c.r.Read(b[:]); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return nil
		}
	}
}
