package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sync"

	"github.com/gpmd/gpm/api"
	"github.com/gpmd/gpm/service/dump"
	"github.com/gpmd/gpm/web/webconf"
	"github.com/gpmd/gpm/web/webctl"
)

// The HTTP API (package web) as a surface of the daemon: off by default; the "web" control method (`gpm web`)
// turns it on or off, moves it, rotates its token, and saves the setting in GPM_HOME/web.json, which the next
// daemon reads at start. The server reaches the daemon only through Caller. The server itself is in web_http.go,
// which gpmd-web links and gpmd does not (tag gpmnoweb, web_nohttp.go): there the setting is kept and the API
// serves once the daemon runs on gpmd-web (cmd/gpm execs it when web.json says on).
func init() {
	addSurface(func(ctx context.Context, d *Daemon) { webFor(d).run(ctx) })
	addMethod(webctl.Method, func(ctx context.Context, d *Daemon, raw json.RawMessage) (any, error) {
		p, err := decode[webctl.Params](raw)
		if err != nil {
			return nil, err
		}
		c := webFor(d)
		// A `gpm web` that started the daemon may come before the surface runs: wait for it, or the server would
		// have no context to run in.
		select {
		case <-c.ready:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		return c.apply(&p)
	})
	addHTTPMethods()
}

// errNoHTTP is startServer's error in gpmd, which is built without the HTTP server (web_nohttp.go).
var errNoHTTP = errors.New("this daemon runs gpmd, built without the HTTP server")

// webServer is a running HTTP server (web.Server, started by startServer).
type webServer interface{ SetToken(string) }

// webs holds each daemon's webControl (tests run several daemons in one process).
var webs sync.Map // *Daemon → *webControl

func webFor(d *Daemon) *webControl {
	c, _ := webs.LoadOrStore(d, &webControl{d: d, ready: make(chan struct{})})
	return c.(*webControl)
}

// webControl owns one daemon's HTTP server: at most one runs, started and stopped under mu.
type webControl struct {
	d     *Daemon
	ready chan struct{} // closed once run has started what web.json says
	mu    sync.Mutex
	// ctx is the surface's context while it runs (nil before and after): a server runs only inside it.
	ctx    context.Context
	cfg    webctl.Config
	loaded bool
	srv    webServer
	stop   func() // ends srv and waits for it
	warn   string
}

// run starts the server when the saved setting says on, and stops it when ctx ends.
func (c *webControl) run(ctx context.Context) {
	c.mu.Lock()
	c.ctx = ctx
	if err := c.load(); err != nil {
		c.d.log.Printf("web: %v; the HTTP API stays off", err)
	} else if c.cfg.On {
		if err := c.start(); errors.Is(err, errNoHTTP) {
			c.d.log.Printf("web: on in %s, but this daemon runs gpmd, built without the HTTP server, and gpmd-web did not take over (is it installed beside gpmd?): the HTTP API stays off", webconf.ConfigName)
		} else if err != nil {
			c.d.log.Printf("web: %v; the HTTP API stays off until `gpm web`", err)
		}
	}
	c.mu.Unlock()
	close(c.ready)
	<-ctx.Done()
	c.mu.Lock()
	c.halt()
	c.ctx = nil
	c.mu.Unlock()
	webs.Delete(c.d)
}

// load reads the setting (webconf.Load) once.
func (c *webControl) load() error {
	if c.loaded {
		return nil
	}
	cfg, bakErr, err := webconf.Load(c.d.opts.Home)
	if err != nil {
		return err
	}
	if bakErr != nil {
		c.d.log.Printf("web: %v; read %s.bak instead", bakErr, webconf.ConfigName)
	}
	c.cfg, c.loaded = cfg, true
	return nil
}

// start starts the server of c.cfg; mu held, no server running. In gpmd, built without the HTTP server, it fails
// with errNoHTTP and the setting waits for the daemon to run on gpmd-web.
func (c *webControl) start() error {
	warn, err := webctl.CheckAddr(c.cfg.Addr, c.cfg.Public, c.cfg.TLS)
	if err != nil {
		return err
	}
	token, err := webconf.LoadToken(c.d.opts.Home, false)
	if err != nil {
		return err
	}
	srv, stop, err := startServer(c, token)
	if errors.Is(err, errNoHTTP) {
		c.warn = warn // what the API will be when it serves, said now
	}
	if err != nil {
		return err
	}
	c.srv, c.stop, c.warn = srv, stop, warn
	if warn != "" {
		c.d.log.Printf("web: warning: %s", warn)
	}
	c.d.log.Printf("web: HTTP API on %s", c.cfg.Addr)
	return nil
}

// halt stops the server, if one runs; mu held.
func (c *webControl) halt() {
	if c.stop != nil {
		c.stop()
		c.d.log.Printf("web: HTTP API off")
	}
	c.srv, c.stop, c.warn = nil, nil, ""
}

// apply runs the "web" method.
func (c *webControl) apply(p *webctl.Params) (*webctl.Status, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.load(); err != nil {
		return nil, &api.Error{Code: api.CodeFailed, Message: "web: " + err.Error()}
	}
	home := c.d.opts.Home
	token := ""
	if p.RotateToken {
		t, err := webconf.LoadToken(home, true)
		if err != nil {
			return nil, err
		}
		if c.srv != nil {
			c.srv.SetToken(t)
		}
		token = t
	}
	want := c.cfg
	switch {
	case p.Status:
	case p.Off:
		want.On = false
	case p.RotateToken && p.Addr == "" && !p.Public && p.CertPEM == "":
		// --rotate-token alone changes nothing else.
	default:
		want.On = true
		if p.Addr != "" {
			want = webctl.Config{On: true, Addr: p.Addr, Public: p.Public, TLS: p.CertPEM != ""}
		}
		if want.Addr == "" {
			want.Addr = webctl.DefaultAddr
		}
		want.Public = want.Public || p.Public
		if p.CertPEM != "" || p.KeyPEM != "" {
			if err := checkTLS(p.CertPEM, p.KeyPEM); err != nil {
				return nil, &api.Error{Code: api.CodeInvalid, Message: err.Error()}
			}
			want.TLS = true
		}
		if _, err := webctl.CheckAddr(want.Addr, want.Public, want.TLS); err != nil {
			return nil, &api.Error{Code: api.CodeInvalid, Message: err.Error()}
		}
		if p.CertPEM != "" {
			if err := dump.WriteFile(filepath.Join(home, webconf.CertName), []byte(p.CertPEM)); err != nil {
				return nil, fmt.Errorf("web: save certificate: %w", err)
			}
			if err := dump.WriteFile(filepath.Join(home, webconf.KeyName), []byte(p.KeyPEM)); err != nil {
				return nil, fmt.Errorf("web: save key: %w", err)
			}
		}
	}
	if !p.Status && (want != c.cfg || p.CertPEM != "" || (want.On && c.srv == nil && c.ctx != nil)) {
		old := c.cfg
		c.halt()
		c.cfg = want
		if want.On && c.ctx != nil {
			if err := c.start(); err != nil && !errors.Is(err, errNoHTTP) {
				// Back to what ran before, so that a typo does not leave the API off.
				c.cfg = old
				if old.On {
					if rerr := c.start(); rerr != nil {
						c.d.log.Printf("web: restart on %s: %v", old.Addr, rerr)
					}
				}
				return nil, &api.Error{Code: api.CodeFailed, Message: err.Error()}
			}
		}
		if err := webconf.Save(home, want); err != nil {
			return nil, err
		}
	}
	st := &webctl.Status{Config: c.cfg, TokenPath: filepath.Join(home, webconf.TokenName), Warning: c.warn, Serving: c.srv != nil}
	switch {
	case c.cfg.On && c.srv == nil && !httpBuilt:
		st.Restart = true
	case c.cfg.On && c.srv == nil:
		// On in web.json, but its address could not be bound when the daemon started (`gpm web` tries again).
		st.Warning = "the HTTP API is on but not serving: its address could not be bound when the daemon started (the daemon's log says why); `gpm web` tries again"
	}
	if c.cfg.On {
		if token == "" {
			t, err := webconf.LoadToken(home, false)
			if err != nil {
				return nil, err
			}
			token = t
		}
		st.Token = token
		if st.URL = webconf.URL(c.cfg.Addr, c.cfg.TLS); st.URL != "" {
			st.Link = st.URL + "#token=" + token
		}
	}
	return st, nil
}
