package service

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gpmd/gpm/activation"
	"github.com/gpmd/gpm/api"
	"github.com/gpmd/gpm/platform"
)

// nodeShim is preloaded into Node apps (NODE_OPTIONS=--require), so that PM2 cluster apps written against Node's
// cluster module (listen(PORT), process.send('ready')) work on sockets handed in as fds. See node/shim.cjs.
//
//go:embed node/shim.cjs
var nodeShim []byte

// Files in GPM_HOME for Node apps.
const (
	NodeShimName     = "node-shim.cjs"
	NotifyStreamName = "notify-stream.sock"
)

// isNode reports whether the app runs on Node.js.
func isNode(interpreter string) bool {
	b := filepath.Base(interpreter)
	return b == "node" || b == "nodejs" || strings.HasPrefix(b, "node@")
}

// nodeEnv adds what the shim needs to env.
func (d *Daemon) nodeEnv(p *proc, env map[string]string, ep endpoints) {
	if !isNode(p.app.Interpreter) || ep.stream == "" {
		return
	}
	opt := "--require " + nodeQuote(ep.shim)
	if cur := env["NODE_OPTIONS"]; cur != "" {
		opt = cur + " " + opt
	}
	env["NODE_OPTIONS"] = opt
	env["GPM_NOTIFY_STREAM"] = ep.stream
	addrs := make([]string, 0, len(p.app.Listen))
	for _, l := range p.app.Listen {
		if s, err := activation.ParseSpec(l); err == nil {
			addrs = append(addrs, s.Address)
		}
	}
	env["GPM_LISTEN_ADDRS"] = strings.Join(addrs, ",")
	if p.app.ExecMode == "cluster" || p.app.Instances > 1 {
		env["GPM_CLUSTER"] = "1"
	}
}

// nodeQuote quotes s for NODE_OPTIONS, which Node splits at spaces unless they are inside double quotes (where a
// backslash escapes the next character): a GPM_HOME with a space in it broke every Node app.
func nodeQuote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// portEnv gives an app with a TCP socket its port as PORT, unless PORT is set: apps that read PORT listen on the
// socket they were handed (the Node shim maps the port to the fd).
func portEnv(listen []string, env map[string]string) {
	if _, set := env["PORT"]; set {
		return
	}
	for _, l := range listen {
		s, err := activation.ParseSpec(l)
		if err != nil || !strings.HasPrefix(s.Network, "tcp") {
			continue
		}
		if _, port, err := net.SplitHostPort(s.Address); err == nil {
			env["PORT"] = port
			return
		}
	}
}

// Limits of the notify stream.
const (
	// maxShimMessage bounds one message on the notify stream (sd_notify messages are a few lines).
	maxShimMessage = 4096
	// shimTimeout bounds how long a shim connection may take to send its message and read the answer.
	shimTimeout = 5 * time.Second
	// maxAcceptBackoff caps the wait between retries of a failing Accept (EMFILE: the fd limit), as net/http does.
	maxAcceptBackoff = time.Second
)

// serveNodeNotify serves the notify stream ln until it is closed: Node has no unix datagram sockets, so the shim
// sends its sd_notify message on a stream connection, one message per connection, and half-closes it; the sender's
// pid and uid come from SO_PEERCRED. A LISTEN= message is answered ("OK", or "ERR reason") before the connection
// closes. A failing Accept (out of file descriptors) is retried with a growing pause rather than ending the server.
func (d *Daemon) serveNodeNotify(ln net.Listener) {
	var delay time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			delay = min(max(2*delay, 5*time.Millisecond), maxAcceptBackoff)
			d.log.Printf("node notify stream: accept: %v; retrying in %v", err, delay)
			time.Sleep(delay)
			continue
		}
		delay = 0
		go d.shimConn(c)
	}
}

// shimConn reads one message of the Node shim and applies it on the loop.
func (d *Daemon) shimConn(c net.Conn) {
	defer c.Close()
	pid, err := platform.PeerPID(c)
	if err != nil {
		return
	}
	uid, err := platform.PeerUID(c)
	if err != nil {
		return
	}
	c.SetDeadline(time.Now().Add(shimTimeout))
	b, err := io.ReadAll(io.LimitReader(c, maxShimMessage))
	if err != nil {
		return
	}
	m := activation.Message{PID: pid, UID: uid, Fields: activation.ParseState(string(b))}
	ctx := d.runCtx
	if ctx == nil {
		ctx = context.Background()
	}
	var reply string
	if d.exec(ctx, func() { reply = d.handleShimNotify(m) }) == nil && reply != "" {
		io.WriteString(c, reply+"\n")
	}
}

// startNodeSupport writes the shim into GPM_HOME and listens on the notify stream.
func (d *Daemon) startNodeSupport() (net.Listener, error) {
	if err := os.WriteFile(d.path(NodeShimName), nodeShim, 0o644); err != nil {
		return nil, fmt.Errorf("node shim: %w", err)
	}
	ln, err := platform.Listen(d.path(NotifyStreamName))
	if err != nil {
		return nil, fmt.Errorf("node notify stream: %w", err)
	}
	d.notifyStream = d.path(NotifyStreamName)
	go d.serveNodeNotify(ln)
	return ln, nil
}

// maxAdoptedListens caps the sockets of an app that asks for ports with LISTEN=: each is a port the daemon binds
// for it, so an app (or anything running below it) must not get the daemon to bind ports without end.
const maxAdoptedListens = 16

// handleShimNotify applies a message from the Node shim's notify stream and returns the answer to a LISTEN=
// ("" for other messages). Runs on the loop.
func (d *Daemon) handleShimNotify(m activation.Message) string {
	addr, listen := m.Fields["LISTEN"]
	delete(m.Fields, "LISTEN")
	d.handleNotify(m)
	if !listen {
		return ""
	}
	p := d.procByPID(m.PID)
	if p == nil {
		return "ERR pid " + strconv.Itoa(m.PID) + " is not a process of gpm"
	}
	if err := d.adoptListen(p, m.UID, addr); err != nil {
		d.log.Printf("%s[%d]: LISTEN=%s refused: %v", p.app.Name, p.id, addr, err)
		return "ERR " + err.Error()
	}
	return "OK"
}

// adoptListen handles LISTEN= from the Node shim of a cluster app, sent by a process of uid: the app asked for a
// port gpm does not hold yet. gpm binds it for the app and reloads the app's workers onto it; the reload is not
// counted as a restart (the workers were only waiting for the socket). It refuses what the shim would not ask for
// a cluster app running as that uid: another kind of socket, a port below 1024 for an app that runs as another
// user than the daemon (a root daemon binding a privileged port for nobody), more than maxAdoptedListens sockets.
// Runs on the loop.
func (d *Daemon) adoptListen(p *proc, uid int, addr string) error {
	if !isNode(p.app.Interpreter) || !(p.app.ExecMode == "cluster" || p.app.Instances > 1) {
		return fmt.Errorf("only the Node shim of a cluster app asks for a port")
	}
	appUID := p.uid
	if appUID < 0 {
		appUID = d.euid
	}
	if uid != appUID {
		return fmt.Errorf("sent by uid %d, but the app runs as uid %d", uid, appUID)
	}
	spec, err := activation.ParseSpec(addr)
	if err != nil {
		return err
	}
	if !strings.HasPrefix(spec.Network, "tcp") {
		return fmt.Errorf("only tcp sockets are adopted")
	}
	_, ps, err := net.SplitHostPort(spec.Address)
	port, perr := strconv.Atoi(ps)
	if err != nil || perr != nil || port < 1 || port > 65535 {
		return fmt.Errorf("bad port in %q", spec.Address)
	}
	if port < 1024 && appUID != d.euid {
		return fmt.Errorf("port %d is privileged (< 1024) and the app runs as uid %d, not as the daemon's uid %d: give it with --listen", port, appUID, d.euid)
	}
	for _, l := range p.app.Listen {
		if s, err := activation.ParseSpec(l); err == nil && s.Address == spec.Address {
			return nil // already held: a reload onto it is under way
		}
	}
	if len(p.app.Listen) >= maxAdoptedListens {
		return fmt.Errorf("the app has %d sockets, the most it may hold through LISTEN= (maxAdoptedListens)", len(p.app.Listen))
	}
	name := p.app.Name
	// Bind now, so that a port in use is refused to the shim (which then listens itself and gets the error) rather
	// than failing the reload.
	if socks, ok := d.sockets[name]; ok {
		s, err := d.bind(spec, p.uid)
		if err == nil {
			err = activation.SetNonblock([]*activation.Socket{s}, p.app.NonBlocking)
			if err != nil {
				s.Close()
			}
		}
		if err != nil {
			return err
		}
		d.storeSocket(name, s)
		d.sockets[name] = append(socks, s)
	} else {
		a := p.app.Clone()
		a.Listen = append(a.Listen, spec.String())
		if _, err := d.socketsFor(&a, p.uid); err != nil {
			return err
		}
	}
	var ids []int
	for _, q := range d.sorted() {
		if q.app.Name == name {
			q.app.Listen = append(q.app.Listen, spec.String())
			q.app.ExecMode = "cluster"
			ids = append(ids, q.id)
		}
	}
	d.log.Printf("%s: the app listens on port %s: gpm holds it and reloads the workers onto it", name, portOf(spec.Address))
	go func() {
		if _, err := d.reloadIDs(d.runCtx, &api.ReloadParams{}, ids, false); err != nil {
			d.log.Printf("%s: reload onto the new socket: %v", name, err)
		}
	}()
	return nil
}

func portOf(addr string) string {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if _, err := strconv.Atoi(port); err != nil {
		return addr
	}
	return port
}
