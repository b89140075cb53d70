package service

import (
	"bufio"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gpmd/gpm/activation"
	"github.com/gpmd/gpm/api"
	"github.com/gpmd/gpm/config"
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

// nodeCluster reports whether a runs as a Node cluster app: Node with exec_mode cluster or several instances (PM2
// would run those as Node cluster workers sharing the port; its fork mode gives them EADDRINUSE instead). Its
// workers' listen(PORT) becomes a socket gpm holds for the app.
func nodeCluster(a *config.App) bool {
	return isNode(a.Interpreter) && (a.ExecMode == "cluster" || a.Instances > 1)
}

// execMode is the mode ls and jlist show for a: cluster when its workers share sockets gpm holds (listen), or will
// (a Node cluster app, before its workers asked for their port), fork otherwise: a Python app with -i 4 and no
// listen is four fork processes, as under PM2.
func execMode(a *config.App) string {
	if a.ExecMode == "cluster" || nodeCluster(a) {
		return "cluster"
	}
	return "fork"
}

// nodeEnv adds what the shim needs to env.
func (d *Daemon) nodeEnv(p *proc, env map[string]string, ep endpoints) {
	if ep.stream == "" {
		return
	}
	// Every app gets the stream: it is where an app in any language declares its run-time actions (action.go).
	env["GPM_NOTIFY_STREAM"] = ep.stream
	if !isNode(p.app.Interpreter) {
		return
	}
	opt := "--require " + nodeQuote(ep.shim)
	if cur := env["NODE_OPTIONS"]; cur != "" {
		opt = cur + " " + opt
	}
	env["NODE_OPTIONS"] = opt
	addrs := make([]string, 0, len(p.app.Listen))
	for _, l := range p.app.Listen {
		if s, err := activation.ParseSpec(l); err == nil {
			addrs = append(addrs, s.Address)
		}
	}
	env["GPM_LISTEN_ADDRS"] = strings.Join(addrs, ",")
	if p.app.ShutdownWithMessage {
		env["GPM_SHUTDOWN_MESSAGE"] = p.app.KillSignal
	}
	if nodeCluster(&p.app) {
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
	// maxShimConns bounds the connections of one notify stream served at a time (the stream of a guest uid is
	// open to every process of that user); the next wait in the listen backlog until one ends.
	maxShimConns = 512
)

// serveNodeNotify serves the notify stream ln until it is closed: Node has no unix datagram sockets, so the shim
// sends its sd_notify message on a stream connection, one message per connection, and half-closes it; the sender's
// pid and uid come from SO_PEERCRED. A LISTEN= message is answered ("OK", or "ERR reason") before the connection
// closes. A failing Accept (out of file descriptors) is retried with a growing pause rather than ending the server.
// At most maxShimConns connections are served at a time: a slot is taken before Accept, so the next ones wait in
// the kernel's backlog, not in the daemon's goroutines and descriptors.
func (d *Daemon) serveNodeNotify(ln net.Listener) {
	slots := make(chan struct{}, maxShimConns)
	var delay time.Duration
	for {
		slots <- struct{}{}
		c, err := ln.Accept()
		if err != nil {
			<-slots
			if errors.Is(err, net.ErrClosed) {
				return
			}
			delay = min(max(2*delay, 5*time.Millisecond), maxAcceptBackoff)
			d.log.Printf("node notify stream: accept: %v; retrying in %v", err, delay)
			time.Sleep(delay)
			continue
		}
		delay = 0
		go d.shimConn(c, func() { <-slots })
	}
}

// shimConn reads one message of the Node shim and applies it on the loop. release gives back the connection's
// slot (serveNodeNotify); it is called once, before an action connection, which stays open and has a limit of its
// own (maxActionConns), goes on.
func (d *Daemon) shimConn(c net.Conn, release func()) {
	defer c.Close()
	var once sync.Once
	defer once.Do(release)
	pid, err := platform.PeerPID(c)
	if err != nil {
		return
	}
	uid, err := platform.PeerUID(c)
	if err != nil {
		return
	}
	c.SetDeadline(time.Now().Add(shimTimeout))
	br := bufio.NewReaderSize(c, maxShimMessage)
	if head, _ := br.Peek(len(actionDeclare)); string(head) == actionDeclare {
		once.Do(release)
		d.serveActions(c, br, pid, uid) // run-time actions (service/action.go): the connection stays open
		return
	}
	b, err := io.ReadAll(io.LimitReader(br, maxShimMessage))
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

// startNodeSupport writes the shim into GPM_HOME and listens on the notify stream; Run serves it (serveNodeNotify)
// once d.runCtx, which its connections read, is set.
func (d *Daemon) startNodeSupport() (net.Listener, error) {
	if err := os.WriteFile(d.path(NodeShimName), nodeShim, 0o644); err != nil {
		return nil, fmt.Errorf("node shim: %w", err)
	}
	ln, err := platform.Listen(d.path(NotifyStreamName))
	if err != nil {
		return nil, fmt.Errorf("node notify stream: %w", err)
	}
	d.notifyStream = d.path(NotifyStreamName)
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
		if _, ok := d.draining[m.PID]; ok {
			// A worker a reload is replacing (the move onto a port a sibling asked for, say) asked late: its
			// successor gets the sockets; listening itself would only fail with EADDRINUSE on the port gpm holds.
			return "OK"
		}
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
	if !nodeCluster(&p.app) {
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
	// Claim now, so that a port in use is refused to the shim (which then listens itself and gets the error) rather
	// than failing the reload.
	s, err := d.claimSocket(name, spec, p.app.NonBlocking, p.uid)
	if err != nil {
		return err
	}
	d.sockets[name] = append(d.sockets[name], s)
	if d.adoptedListens == nil {
		d.adoptedListens = map[string][]string{}
	}
	d.adoptedListens[name] = append(d.adoptedListens[name], spec.String())
	var ids []int
	for _, q := range d.sorted() {
		if q.app.Name == name {
			q.app.Listen = append(q.app.Listen, spec.String())
			q.app.ExecMode = "cluster"
			q.appChanged()
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

// claimSocket returns the socket app name gets for an address its Node workers asked for: the one systemd kept in
// its fd store for the app, else the one another app already holds for the same address (PM2's cluster primary
// shares one listening socket per address among all its apps: two apps of a process file on one port both run,
// and the kernel spreads the connections over the workers of both), else a new one. A shared socket keeps the mode
// its first app gave it. Runs on the loop.
func (d *Daemon) claimSocket(name string, spec activation.Spec, nonBlocking bool, uid int) (*activation.Socket, error) {
	if f, ok := d.stored[fdName(name, spec)]; ok {
		delete(d.stored, fdName(name, spec))
		return &activation.Socket{Spec: spec, File: f}, nil
	}
	if s := d.heldSocket(spec); s != nil {
		d.storeSocket(name, s)
		return s, nil
	}
	s, err := d.bind(spec, uid)
	if err != nil {
		return nil, err
	}
	if err := activation.SetNonblock([]*activation.Socket{s}, nonBlocking); err != nil {
		s.Close()
		return nil, err
	}
	d.storeSocket(name, s)
	return s, nil
}

// heldSocket returns the socket some app holds for spec's address, or nil.
func (d *Daemon) heldSocket(spec activation.Spec) *activation.Socket {
	for _, socks := range d.sockets {
		for _, s := range socks {
			if s.Spec.Network == spec.Network && s.Spec.Address == spec.Address {
				return s
			}
		}
	}
	return nil
}

// sharedSocket reports whether an app other than name holds s.
func (d *Daemon) sharedSocket(name string, s *activation.Socket) bool {
	for other, socks := range d.sockets {
		if other != name && slices.Contains(socks, s) {
			return true
		}
	}
	return false
}

// withAdopted adds to app (a configuration given again: a process file reloaded or started again) the addresses
// its Node workers asked gpm to hold: they are not in the file, and the workers still serving share them with the
// new ones, so a reload keeps them. Runs on the loop.
func (d *Daemon) withAdopted(app *config.App) {
	adopted := d.adoptedListens[app.Name]
	for _, l := range adopted {
		if !slices.Contains(app.Listen, l) {
			app.Listen = append(app.Listen, l)
		}
	}
	if len(adopted) > 0 {
		app.ExecMode = "cluster"
	}
}

// savedConfig is p's configuration as save writes it: without the addresses adopted for its Node workers, which
// ask for them again when they start, so that the process file stays the same as the saved app's.
func (d *Daemon) savedConfig(p *proc) config.App {
	a := p.app.Clone()
	if adopted := d.adoptedListens[a.Name]; len(adopted) > 0 {
		a.Listen = slices.DeleteFunc(a.Listen, func(l string) bool { return slices.Contains(adopted, l) })
	}
	return a
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
