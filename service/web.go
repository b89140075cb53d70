package service

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/gpmd/gpm/api"
	"github.com/gpmd/gpm/service/dump"
	"github.com/gpmd/gpm/web"
	"github.com/gpmd/gpm/web/webctl"
)

// The HTTP API (package web) as a surface of the daemon: off by default; the "web" control method (`gpm web`)
// turns it on or off, moves it, rotates its token, and saves the setting in GPM_HOME/web.json, which the next
// daemon reads at start. The server reaches the daemon only through Caller.
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
	// What /metrics shows, in one call: a list call would copy every app's configuration.
	addMethod(web.MetricsMethod, func(ctx context.Context, d *Daemon, raw json.RawMessage) (any, error) {
		var procs []web.MetricsProcess
		err := d.exec(ctx, func() {
			procs = make([]web.MetricsProcess, 0, len(d.procs))
			for _, p := range d.sorted() {
				m := web.MetricsProcess{ID: p.id, Name: p.app.Name, Namespace: p.app.Namespace, Status: p.status,
					Restarts: p.restarts, UnstableRestarts: p.unstable, Instance: p.instance}
				if p.pid != 0 {
					m.StartTime = float64(p.startedAt.UnixNano()) / 1e9
					m.Memory, m.CPUSeconds = p.mem, p.cpuTime
				}
				procs = append(procs, m)
			}
		})
		if err != nil {
			return nil, err // as in list: the loop may still write procs
		}
		return web.MetricsSnapshot{Processes: procs, Stats: daemonStats(d)}, nil
	})
}

func daemonStats(d *Daemon) web.DaemonStats {
	return web.DaemonStats{ControlConnections: d.ctl.conns.Load(), Subscribers: int64(d.hub.n.Load()),
		QueuedEventBytes: d.hub.queued.Load()}
}

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
	srv    *web.Server
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
		if err := c.start(); err != nil {
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

func (c *webControl) path() string { return filepath.Join(c.d.opts.Home, web.ConfigName) }

// load reads web.json (or its .bak when it is unreadable) once; a missing file is the API off.
func (c *webControl) load() error {
	if c.loaded {
		return nil
	}
	read := func(path string) (webctl.Config, error) {
		var cfg webctl.Config
		b, err := os.ReadFile(path)
		if err != nil {
			return cfg, err
		}
		if err := json.Unmarshal(b, &cfg); err != nil {
			return cfg, fmt.Errorf("%s: %w", path, err)
		}
		return cfg, nil
	}
	cfg, err := read(c.path())
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		bak, berr := read(c.path() + ".bak")
		if berr != nil {
			return fmt.Errorf("read setting: %w", err)
		}
		c.d.log.Printf("web: %v; read %s.bak instead", err, c.path())
		cfg, err = bak, nil
	}
	c.cfg, c.loaded = cfg, true
	return nil
}

// save writes web.json atomically, keeping the previous good file as web.json.bak (as settings.json).
func (c *webControl) save(cfg webctl.Config) error {
	data, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return fmt.Errorf("web: encode setting: %w", err)
	}
	if old, err := os.ReadFile(c.path()); err == nil && json.Valid(old) {
		if err := dump.WriteFile(c.path()+".bak", old); err != nil {
			return fmt.Errorf("web: save setting: backup: %w", err)
		}
	}
	if err := dump.WriteFile(c.path(), append(data, '\n')); err != nil {
		return fmt.Errorf("web: save setting: %w", err)
	}
	return nil
}

// start starts the server of c.cfg; mu held, no server running.
func (c *webControl) start() error {
	warn, err := webctl.CheckAddr(c.cfg.Addr, c.cfg.Public, c.cfg.TLS)
	if err != nil {
		return err
	}
	token, err := web.LoadToken(c.d.opts.Home, false)
	if err != nil {
		return err
	}
	var tlsConfig *tls.Config
	if c.cfg.TLS {
		if tlsConfig, err = web.LoadTLS(c.d.opts.Home); err != nil {
			return err
		}
	}
	ln, err := web.Listen(c.cfg.Addr)
	if err != nil {
		return err
	}
	srv := web.New(web.Options{Caller: c.d.Caller(), Token: token, Logger: c.d.log, Version: c.d.opts.Version})
	ctx, cancel := context.WithCancel(c.ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ctx, ln, tlsConfig); err != nil {
			c.d.log.Printf("%v", err)
		}
	}()
	c.srv, c.warn = srv, warn
	c.stop = func() { cancel(); <-done }
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
		t, err := web.LoadToken(home, true)
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
			if err := web.CheckTLS(p.CertPEM, p.KeyPEM); err != nil {
				return nil, &api.Error{Code: api.CodeInvalid, Message: err.Error()}
			}
			want.TLS = true
		}
		if _, err := webctl.CheckAddr(want.Addr, want.Public, want.TLS); err != nil {
			return nil, &api.Error{Code: api.CodeInvalid, Message: err.Error()}
		}
		if p.CertPEM != "" {
			if err := dump.WriteFile(filepath.Join(home, web.CertName), []byte(p.CertPEM)); err != nil {
				return nil, fmt.Errorf("web: save certificate: %w", err)
			}
			if err := dump.WriteFile(filepath.Join(home, web.KeyName), []byte(p.KeyPEM)); err != nil {
				return nil, fmt.Errorf("web: save key: %w", err)
			}
		}
	}
	if !p.Status && (want != c.cfg || p.CertPEM != "" || (want.On && c.srv == nil && c.ctx != nil)) {
		old := c.cfg
		c.halt()
		c.cfg = want
		if want.On && c.ctx != nil {
			if err := c.start(); err != nil {
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
		if err := c.save(want); err != nil {
			return nil, err
		}
	}
	st := &webctl.Status{Config: c.cfg, TokenPath: filepath.Join(home, web.TokenName), Warning: c.warn}
	if c.cfg.On && c.srv == nil {
		// On in web.json, but its address could not be bound when the daemon started (`gpm web` tries again).
		st.Warning = "the HTTP API is on but not serving: its address could not be bound when the daemon started (the daemon's log says why); `gpm web` tries again"
	}
	if c.cfg.On {
		if token == "" {
			t, err := web.LoadToken(home, false)
			if err != nil {
				return nil, err
			}
			token = t
		}
		st.Token = token
		if st.URL = web.URL(c.cfg.Addr, c.cfg.TLS); st.URL != "" {
			st.Link = st.URL + "#token=" + token
		}
	}
	return st, nil
}
