package service

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"sync"

	"github.com/gpmd/gpm/api"
)

// Caller returns the daemon's operations for a surface that runs inside it (the HTTP API, D-Bus): the same
// dispatch, checks and limits as a request on the control socket, without the socket. Whoever hands it out checks
// the caller first (a token, a D-Bus sender's uid through Admits).
func (d *Daemon) Caller() api.Caller { return inProcess{d} }

// Admits reports whether a client of uid may control the daemon, by the control socket's rule: root, the daemon's
// own uid, or anyone when the daemon trusts its socket's group (the system daemon).
func (d *Daemon) Admits(uid int) bool { return d.admits(uid) }

// Logger is the daemon's log, for surfaces to report through.
func (d *Daemon) Logger() *log.Logger { return d.log }

// Home is the daemon's GPM_HOME.
func (d *Daemon) Home() string { return d.opts.Home }

// inProcess is api.Caller on the daemon itself. Parameters and results go through JSON, as on the socket: a
// surface gets its own copy of every value and the handlers see exactly what a client could send.
type inProcess struct{ d *Daemon }

func (c inProcess) Call(ctx context.Context, method string, params, result any) error {
	req := api.Request{V: api.Version, Method: method}
	if params != nil {
		raw, err := json.Marshal(params)
		if err != nil {
			return fmt.Errorf("%s: encode: %w", method, err)
		}
		if len(raw) > api.MaxRequest {
			return api.TooLarge(len(raw))
		}
		req.Params = raw
	}
	switch method {
	case api.MethodLogs, api.MethodSubscribe:
		return &api.Error{Code: api.CodeInvalid, Message: method + " is a stream: use Stream"}
	case api.MethodKill:
		// Ending the daemon from one of its own surfaces would wait for itself.
		return &api.Error{Code: api.CodeInvalid, Message: "kill is refused from inside the daemon: use the control socket"}
	}
	out, err := c.d.safeCall(ctx, &req)
	if err != nil {
		return toAPIError(err)
	}
	if result == nil || out == nil {
		return nil
	}
	raw, err := json.Marshal(out)
	if err != nil {
		return fmt.Errorf("%s: encode result: %w", method, err)
	}
	if err := json.Unmarshal(raw, result); err != nil {
		return fmt.Errorf("%s: decode result: %w", method, err)
	}
	return nil
}

func (c inProcess) Stream(ctx context.Context, method string, params any, fn func(api.Event) error) error {
	if method != api.MethodLogs && method != api.MethodSubscribe {
		return &api.Error{Code: api.CodeInvalid, Message: fmt.Sprintf("%s is not a stream", method)}
	}
	var lp api.LogsParams
	if params != nil {
		raw, err := json.Marshal(params)
		if err != nil {
			return fmt.Errorf("%s: encode: %w", method, err)
		}
		if err := json.Unmarshal(raw, &lp); err != nil {
			return &api.Error{Code: api.CodeInvalid, Message: "bad parameters: " + err.Error()}
		}
	}
	err := c.d.events(ctx, method, &lp, func() error { return nil }, func(e api.Event) error {
		if err := fn(e); err != nil {
			return err
		}
		if e.Type == api.EventEnd {
			return errStreamEnd
		}
		return nil
	})
	if err == errStreamEnd {
		return nil
	}
	return err
}

var errStreamEnd = fmt.Errorf("end of stream")

// A surface is a way to see and drive the daemon other than its control socket. Its file registers it with
// addSurface from an init function, so that the daemon's core files do not name it; Run starts every registered
// surface once it serves, with the daemon and a context that ends when the daemon stops, and waits for them
// before it returns. A surface reaches the daemon only through Caller (never the process table).
type surface func(ctx context.Context, d *Daemon)

var surfaces struct {
	sync.Mutex
	list    []surface
	methods map[string]func(ctx context.Context, d *Daemon, params json.RawMessage) (any, error)
}

// addSurface registers s; call it from an init function.
func addSurface(s surface) {
	surfaces.Lock()
	defer surfaces.Unlock()
	surfaces.list = append(surfaces.list, s)
}

// addMethod registers a control method a surface's file serves (as "web" turns the HTTP API on); call it from an
// init function. The method runs like any other: in the connection's goroutine, panics recovered.
func addMethod(name string, m func(ctx context.Context, d *Daemon, params json.RawMessage) (any, error)) {
	surfaces.Lock()
	defer surfaces.Unlock()
	if surfaces.methods == nil {
		surfaces.methods = map[string]func(context.Context, *Daemon, json.RawMessage) (any, error){}
	}
	surfaces.methods[name] = m
}

func surfaceMethod(name string) func(context.Context, *Daemon, json.RawMessage) (any, error) {
	surfaces.Lock()
	defer surfaces.Unlock()
	return surfaces.methods[name]
}

// startSurfaces starts the registered surfaces; the returned function waits until they have returned.
func (d *Daemon) startSurfaces(ctx context.Context) (wait func()) {
	surfaces.Lock()
	list := append([]surface(nil), surfaces.list...)
	surfaces.Unlock()
	var wg sync.WaitGroup
	for _, s := range list {
		wg.Go(func() { s(ctx, d) })
	}
	return wg.Wait
}
