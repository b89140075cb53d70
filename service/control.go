package service

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
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gpmd/gpm/api"
)

// Test hooks, answered only by a daemon running with GPM_TEST_HOOKS=1.
const (
	methodWedge = "debug.wedge" // blocks the loop for ms milliseconds
	methodPanic = "debug.panic" // panics in the handler ("conn") or in a function on the loop ("loop")
)

// Limits of the control server. An idle connection costs a goroutine and its connBuffer: 5,000 of them took
// 29 MB (TestIdleConnections_Issue11Item9). The cap is above the 5,000 idle connections that the daemon must keep
// serving (issue 11), and keeps them under about 50 MB. Requests longer than connBuffer borrow from maxRequestBytes, shared by all connections, so that many
// connections each sending a long line cannot add up to api.MaxRequest each (60 of them sending 15 MB took the
// daemon to 1.2 GB).
const (
	// maxConns bounds the open control connections, event streams (gpm logs) included. One more is answered
	// with api.CodeBusy and closed.
	maxConns = 8192
	// connBuffer is a connection's read buffer: the size of every request but process files and large starts.
	connBuffer = 4 << 10
	// maxRequestBytes bounds the request bytes held beyond connBuffer, over all connections. A request that would
	// go over is answered with api.CodeBusy and its connection closed.
	maxRequestBytes = 64 << 20
)

// controlLimits are the control server's counts against its limits.
type controlLimits struct {
	conns    atomic.Int64 // open connections
	reqBytes atomic.Int64 // request bytes held beyond connBuffer
	// maxConns and maxReqBytes replace the constants when set (tests).
	maxConns, maxReqBytes int64
	// refused counts the connections refused since the last one admitted; the accept goroutine owns it.
	refused int
}

func (l *controlLimits) connLimit() int64 { return cmp.Or(l.maxConns, maxConns) }

// borrow takes n bytes from maxRequestBytes; false when they are not there.
func (l *controlLimits) borrow(n int64) bool {
	if l.reqBytes.Add(n) > cmp.Or(l.maxReqBytes, maxRequestBytes) {
		l.reqBytes.Add(-n)
		return false
	}
	return true
}

// admitConn serves c in a goroutine of its own, or answers it with api.CodeBusy and closes it when maxConns are
// open. It runs on the accept goroutine.
func (d *Daemon) admitConn(ctx context.Context, c net.Conn) {
	l := &d.ctl
	if l.conns.Add(1) > l.connLimit() {
		l.conns.Add(-1)
		if l.refused++; l.refused == 1 {
			d.log.Printf("control: %d connections open (the limit, maxConns): refusing more until one closes", l.connLimit())
		}
		// A fresh socket's buffer is empty: the write does not wait. The client reads the answer even if it gets
		// EPIPE on its request.
		c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
		json.NewEncoder(c).Encode(api.Response{Error: &api.Error{Code: api.CodeBusy, Message: fmt.Sprintf(
			"the daemon has %d control connections open, its limit (maxConns): close some (gpm logs that follow?) and try again",
			l.connLimit())}})
		c.Close()
		return
	}
	if l.refused > 0 {
		d.log.Printf("control: admitting connections again after refusing %d", l.refused)
		l.refused = 0
	}
	go func() {
		defer l.conns.Add(-1)
		d.handleConn(ctx, c)
	}()
}

// errBusy is a request refused for want of maxRequestBytes; errTooLarge one over api.MaxRequest.
var (
	errBusy = &api.Error{Code: api.CodeBusy, Message: fmt.Sprintf(
		"the daemon is reading %d MiB of other long requests, its limit (maxRequestBytes): try again", maxRequestBytes>>20)}
	errTooLarge = api.TooLarge(api.MaxRequest + 1)
)

// readRequest reads one request line (with its newline, if any; a last line may lack it) from br, whose buffer
// (connBuffer) holds the usual request. A longer one is assembled in a buffer borrowed from maxRequestBytes, and
// held tells how much to give back once the request is handled. Errors: errTooLarge past api.MaxRequest, errBusy when
// maxRequestBytes is spent, and the connection's (io.EOF at its end).
func (d *Daemon) readRequest(br *bufio.Reader) (line []byte, held int64, err error) {
	chunk, err := br.ReadSlice('\n')
	if err == nil || (errors.Is(err, io.EOF) && len(chunk) > 0) {
		return chunk, 0, nil
	}
	if !errors.Is(err, bufio.ErrBufferFull) {
		return nil, 0, err
	}
	var big []byte
	for {
		if len(big)+len(chunk) > api.MaxRequest {
			d.ctl.reqBytes.Add(-held)
			return nil, 0, errTooLarge
		}
		if need := len(big) + len(chunk); need > cap(big) {
			grow := int64(min(max(2*cap(big), need, 64<<10), api.MaxRequest) - cap(big))
			if !d.ctl.borrow(grow) {
				d.ctl.reqBytes.Add(-held)
				return nil, 0, errBusy
			}
			held += grow
			big = append(make([]byte, 0, cap(big)+int(grow)), big...)
		}
		big = append(big, chunk...)
		if err == nil || errors.Is(err, io.EOF) {
			return big, held, nil
		}
		chunk, err = br.ReadSlice('\n')
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) && !errors.Is(err, io.EOF) {
			d.ctl.reqBytes.Add(-held)
			return nil, 0, err
		}
	}
}

// skipLine reads and discards up to a newline, api.MaxRequest bytes, or an error, holding one small buffer.
func skipLine(r io.Reader) {
	var buf [512]byte
	for n := 0; n < api.MaxRequest; {
		k, err := r.Read(buf[:])
		if bytes.IndexByte(buf[:k], '\n') >= 0 || err != nil {
			return
		}
		n += k
	}
}

// handleConn serves one client: requests in order, each answered before the next is read.
func (d *Daemon) handleConn(ctx context.Context, c net.Conn) {
	defer c.Close()
	if uid, err := peerUID(c); err != nil || !d.admits(uid) {
		// Read the request before answering: a client whose request hits a closed socket sees EPIPE, not why.
		c.SetReadDeadline(time.Now().Add(time.Second))
		skipLine(c)
		d.log.Printf("control: refused a client (uid %d, %v): only uid %d may control this daemon", uid, err, d.euid)
		json.NewEncoder(c).Encode(api.Response{Error: &api.Error{Code: api.CodeDenied,
			Message: fmt.Sprintf("permission denied: this daemon belongs to uid %d", d.euid)}})
		return
	}
	br := bufio.NewReaderSize(c, connBuffer)
	enc := json.NewEncoder(c)
	for {
		line, held, err := d.readRequest(br)
		if err != nil {
			var ae *api.Error
			if errors.As(err, &ae) {
				d.log.Printf("control: refused a request: %v", err)
				enc.Encode(api.Response{Error: ae})
			}
			return
		}
		more := d.handle(ctx, c, enc, line)
		d.ctl.reqBytes.Add(-held)
		if !more {
			return
		}
	}
}

// handle answers one request line; false ends the connection.
func (d *Daemon) handle(ctx context.Context, c net.Conn, enc *json.Encoder, line []byte) bool {
	var req api.Request
	if err := json.Unmarshal(line, &req); err != nil {
		enc.Encode(api.Response{Error: &api.Error{Code: api.CodeInvalid, Message: "bad request: " + err.Error()}})
		return false
	}
	if req.V != api.Version {
		enc.Encode(api.Response{ID: req.ID, Error: &api.Error{Code: api.CodeVersion,
			Message: fmt.Sprintf("protocol version %d is not supported; this daemon speaks %d (run `gpm kill` after an upgrade)", req.V, api.Version)}})
		return false
	}
	switch req.Method {
	case api.MethodLogs, api.MethodSubscribe:
		d.stream(ctx, c, enc, &req)
		return false
	}
	result, err := d.safeCall(ctx, &req)
	if werr := answer(c, enc, req.ID, result, err); werr != nil {
		return false
	}
	if req.Method == api.MethodKill && err == nil {
		// Hold the connection until the daemon has released its home: the client reads EOF only then, so a
		// `gpm kill; gpm start` never meets a half-dead daemon.
		d.stopRun()
		<-d.gone
		return false
	}
	return true
}

// stopRun asks Run to stop every app and return. Any number of callers may ask, at once: concurrent kills each get
// their answer, then wait for the same exit.
func (d *Daemon) stopRun() {
	d.quitOnce.Do(func() { close(d.quit) })
}

// answer writes the response to one request: its result, or err.
func answer(c net.Conn, enc *json.Encoder, id uint64, result any, err error) error {
	if a, ok := result.(api.JSONAppender); ok && err == nil {
		return answerAppended(c, id, a)
	}
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

// answerBufs holds the buffers that answers encoded by hand (api.JSONAppender: the list) are written from, up to
// maxAnswerBuf bytes each. A list of 1000 apps is 1 MB: a new buffer each time was cleared, faulted in page by page,
// and as much garbage, which started a collection, which scans the stacks of every app's goroutines.
var answerBufs sync.Pool // of *[]byte

const maxAnswerBuf = 8 << 20

func answerAppended(c net.Conn, id uint64, a api.JSONAppender) error {
	bp, _ := answerBufs.Get().(*[]byte)
	if bp == nil {
		bp = new([]byte)
	}
	b := api.AppendResultLine((*bp)[:0], id, a)
	_, err := c.Write(b)
	if cap(b) <= maxAnswerBuf {
		*bp = b
		answerBufs.Put(bp)
	}
	return err
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

// safeCall is call, with a panic of the handler recovered, logged with its stack and answered as an error: a bug
// that one request reaches must not take down the daemon, and with it the supervision of every app. (A panic in a
// function the handler runs on the loop is recovered there: see runOp.)
func (d *Daemon) safeCall(ctx context.Context, req *api.Request) (result any, err error) {
	defer func() {
		if r := recover(); r != nil {
			d.log.Printf("control: panic in %q: %v\n%s", req.Method, r, debug.Stack())
			result, err = nil, &api.Error{Code: api.CodeFailed,
				Message: fmt.Sprintf("internal error in %s: %v (a bug: the daemon's log has the details)", req.Method, r)}
		}
	}()
	return d.call(ctx, req)
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
		p, err := decode[api.ListParams](req.Params)
		if err != nil {
			return nil, err
		}
		return d.list(ctx, fieldsOf(p.Fields))
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
	case api.MethodSend:
		p, err := decode[api.SendParams](req.Params)
		if err != nil {
			return nil, err
		}
		return d.send(ctx, &p)
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
	case api.MethodSet:
		p, err := decode[api.SetParams](req.Params)
		if err != nil {
			return nil, err
		}
		return d.setSetting(ctx, p.Key, p.Value)
	case api.MethodGet, api.MethodUnset:
		p, err := decode[api.GetParams](req.Params)
		if err != nil {
			return nil, err
		}
		if req.Method == api.MethodGet {
			return d.getSettings(p.Key)
		}
		return d.unsetSetting(ctx, p.Key)
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
	case methodPanic:
		if d.env["GPM_TEST_HOOKS"] != "1" {
			break
		}
		p, err := decode[struct {
			Where string `json:"where"`
		}](req.Params)
		if err != nil {
			return nil, err
		}
		if p.Where == "loop" {
			return nil, d.exec(ctx, func() { panic("debug.panic on the loop") })
		}
		panic("debug.panic in the handler")
	}
	if m := surfaceMethod(req.Method); m != nil {
		return m(ctx, d, req.Params)
	}
	return nil, &api.Error{Code: api.CodeInvalid, Message: fmt.Sprintf("unknown method %q", req.Method)}
}
