package service

import (
	_ "embed"
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

// serveNodeNotify writes the shim and serves the notify stream: Node has no unix datagram sockets, so the shim
// sends its sd_notify message on a stream connection, one message per connection; the peer's pid comes from
// SO_PEERCRED.
func (d *Daemon) serveNodeNotify(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			pid, err := platform.PeerPID(c)
			if err != nil {
				return
			}
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			b, err := io.ReadAll(io.LimitReader(c, 4096))
			if err != nil {
				return
			}
			m := activation.Message{PID: pid, UID: -1, Fields: activation.ParseState(string(b))}
			d.post(func() { d.handleNotify(m) })
		}()
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

// adoptListen handles LISTEN= from the Node shim: a cluster app asked for a port gpm does not hold yet. gpm binds
// it for the app and reloads the app's workers onto it. Runs on the loop.
func (d *Daemon) adoptListen(p *proc, addr string) {
	spec, err := activation.ParseSpec(addr)
	if err != nil || !strings.HasPrefix(spec.Network, "tcp") {
		d.log.Printf("%s[%d]: ignoring LISTEN=%q: %v", p.app.Name, p.id, addr, err)
		return
	}
	for _, l := range p.app.Listen {
		if s, err := activation.ParseSpec(l); err == nil && s.Address == spec.Address {
			return // already held: a reload onto it is under way
		}
	}
	name := p.app.Name
	if socks, ok := d.sockets[name]; ok {
		// The workers hold the sockets the app has already; the new one joins the set, in app.Listen's order.
		s, err := d.bind(spec)
		if err != nil {
			d.log.Printf("%s: LISTEN=%s: %v", name, addr, err)
			return
		}
		d.storeSocket(name, s)
		d.sockets[name] = append(socks, s)
	}
	for _, q := range d.procs {
		if q.app.Name == name {
			q.app.Listen = append(q.app.Listen, spec.String())
			q.app.ExecMode = "cluster"
		}
	}
	d.log.Printf("%s: the app listens on port %s: gpm holds it and reloads the workers onto it", name, portOf(spec.Address))
	go func() {
		if _, err := d.reload(d.runCtx, &api.ReloadParams{Targets: []string{name}}); err != nil {
			d.log.Printf("%s: reload onto the new socket: %v", name, err)
		}
	}()
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
