package service

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/gpmd/gpm/api"
)

const methodWedge = "debug.wedge"

// maxRequest bounds one request line; a process file of thousands of apps fits well inside.
const maxRequest = 16 << 20

// handleConn serves one client: requests in order, each answered before the next is read.
func (d *Daemon) handleConn(ctx context.Context, c net.Conn) {
	defer c.Close()
	if uid, err := peerUID(c); err != nil || !d.admits(uid) {
		// Read the request before answering: a client whose request hits a closed socket sees EPIPE, not why.
		c.SetReadDeadline(time.Now().Add(time.Second))
		bufio.NewReader(c).ReadString('\n')
		d.log.Printf("control: refused a client (uid %d, %v): only uid %d may control this daemon", uid, err, d.euid)
		json.NewEncoder(c).Encode(api.Response{Error: &api.Error{Code: api.CodeDenied,
			Message: fmt.Sprintf("permission denied: this daemon belongs to uid %d", d.euid)}})
		return
	}
	sc := bufio.NewScanner(c)
	sc.Buffer(make([]byte, 0, 64<<10), maxRequest)
	enc := json.NewEncoder(c)
	for sc.Scan() {
		var req api.Request
		if err := json.Unmarshal(sc.Bytes(), &req); err != nil {
			enc.Encode(api.Response{Error: &api.Error{Code: api.CodeInvalid, Message: "bad request: " + err.Error()}})
			return
		}
		if req.V != api.Version {
			enc.Encode(api.Response{ID: req.ID, Error: &api.Error{Code: api.CodeVersion,
				Message: fmt.Sprintf("protocol version %d is not supported; this daemon speaks %d (run `gpm kill` after an upgrade)", req.V, api.Version)}})
			return
		}
		switch req.Method {
		case api.MethodLogs, api.MethodSubscribe:
			d.stream(ctx, c, enc, &req)
			return
		}
		result, err := d.call(ctx, &req)
		if werr := answer(c, enc, req.ID, result, err); werr != nil {
			return
		}
		if req.Method == api.MethodKill && err == nil {
			// Hold the connection until the daemon has released its home: the client reads EOF only then, so a
			// `gpm kill; gpm start` never meets a half-dead daemon.
			d.stopRun()
			<-d.gone
			return
		}
	}
}

// stopRun asks Run to stop every app and return. Any number of callers may ask, at once: concurrent kills each get
// their answer, then wait for the same exit.
func (d *Daemon) stopRun() {
	d.quitOnce.Do(func() { close(d.quit) })
}

// answer writes the response to one request: its result, or err.
func answer(c net.Conn, enc *json.Encoder, id uint64, result any, err error) error {
	if err == nil && result != nil {
		line, eerr := api.ResultLine(id, result)
		if eerr == nil {
			_, werr := c.Write(line)
			return werr
		}
		err = eerr
	}
	resp := api.Response{ID: id}
	if err != nil {
		resp.Error = toAPIError(err)
	}
	return enc.Encode(resp)
}

// admits reports whether a client of uid may control the daemon: root and the daemon's own uid always; anyone who
// got through the socket's file mode when the daemon trusts the socket group (Options.TrustSocketGroup, or the
// system daemon: GPM_SYSTEM=1).
func (d *Daemon) admits(uid int) bool {
	return uid == d.euid || uid == 0 || d.opts.TrustSocketGroup || d.env[api.SystemEnv] == "1"
}

func toAPIError(err error) *api.Error {
	var ae *api.Error
	if errors.As(err, &ae) {
		return ae
	}
	return &api.Error{Code: api.CodeFailed, Message: err.Error()}
}

func decode[T any](raw json.RawMessage) (T, error) {
	var v T
	if len(raw) == 0 {
		return v, nil
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return v, &api.Error{Code: api.CodeInvalid, Message: "bad parameters: " + err.Error()}
	}
	return v, nil
}

// call dispatches one request.
func (d *Daemon) call(ctx context.Context, req *api.Request) (any, error) {
	switch req.Method {
	case api.MethodPing:
		return map[string]string{"msg": "pong"}, nil
	case api.MethodVersion:
		return api.VersionInfo{Version: d.opts.Version, Protocol: api.Version, PID: os.Getpid(), Home: d.opts.Home,
			Supervised: d.sd.active()}, nil
	case api.MethodList:
		return d.list(ctx)
	case api.MethodStart:
		p, err := decode[api.StartParams](req.Params)
		if err != nil {
			return nil, err
		}
		return d.startApps(ctx, &p)
	case api.MethodStop, api.MethodDelete, api.MethodReset:
		p, err := decode[api.Targets](req.Params)
		if err != nil {
			return nil, err
		}
		switch req.Method {
		case api.MethodStop:
			return d.stopTargets(ctx, p.Targets, false)
		case api.MethodDelete:
			return d.stopTargets(ctx, p.Targets, true)
		default:
			return d.reset(ctx, p.Targets)
		}
	case api.MethodRestart:
		p, err := decode[api.RestartParams](req.Params)
		if err != nil {
			return nil, err
		}
		return d.restart(ctx, &p)
	case api.MethodScale:
		p, err := decode[api.ScaleParams](req.Params)
		if err != nil {
			return nil, err
		}
		return d.scale(ctx, &p)
	case api.MethodSignal:
		p, err := decode[api.SignalParams](req.Params)
		if err != nil {
			return nil, err
		}
		return d.signal(ctx, &p)
	case api.MethodEnv:
		p, err := decode[api.Targets](req.Params)
		if err != nil {
			return nil, err
		}
		return d.envOf(ctx, p.Targets)
	case api.MethodSave:
		p, err := decode[api.SaveParams](req.Params)
		if err != nil {
			return nil, err
		}
		return d.save(ctx, p.Force)
	case api.MethodResurrect:
		p, err := decode[api.StartParams](req.Params)
		if err != nil {
			return nil, err
		}
		return d.resurrect(ctx, p.CallerEnv)
	case api.MethodClearDump:
		return d.clearDump()
	case api.MethodFlush:
		p, err := decode[api.Targets](req.Params)
		if err != nil {
			return nil, err
		}
		return d.flush(ctx, p.Targets)
	case api.MethodReloadLogs:
		return d.reloadLogs(), nil
	case api.MethodReload:
		p, err := decode[api.ReloadParams](req.Params)
		if err != nil {
			return nil, err
		}
		return d.reload(ctx, &p)
	case api.MethodKill:
		return d.stopAll(ctx), nil
	case methodWedge:
		// A test hook, off unless the daemon runs with GPM_TEST_HOOKS=1: it blocks the supervision loop so that a
		// test can see the systemd watchdog pings stop.
		if d.env["GPM_TEST_HOOKS"] != "1" {
			break
		}
		p, err := decode[struct {
			MS int `json:"ms"`
		}](req.Params)
		if err != nil {
			return nil, err
		}
		return nil, d.exec(ctx, func() { time.Sleep(time.Duration(p.MS) * time.Millisecond) })
	}
	return nil, &api.Error{Code: api.CodeInvalid, Message: fmt.Sprintf("unknown method %q", req.Method)}
}
