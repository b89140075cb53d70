//go:build !gpmnoweb

package service

import (
	"context"
	"crypto/tls"
	"encoding/json"

	"github.com/gpmd/gpm/web"
)

// httpBuilt: this program (gpmd-web, or any build without the gpmnoweb tag) serves the HTTP API itself.
const httpBuilt = true

func addHTTPMethods() {
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

// startServer starts c.cfg's server with token in c's context; stop ends it and waits for it.
func startServer(c *webControl, token string) (srv webServer, stop func(), err error) {
	var tlsConfig *tls.Config
	if c.cfg.TLS {
		if tlsConfig, err = web.LoadTLS(c.d.opts.Home); err != nil {
			return nil, nil, err
		}
	}
	ln, err := web.Listen(c.cfg.Addr)
	if err != nil {
		return nil, nil, err
	}
	s := web.New(web.Options{Caller: c.d.Caller(), Token: token, Logger: c.d.log, Version: c.d.opts.Version})
	ctx, cancel := context.WithCancel(c.ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := s.Serve(ctx, ln, tlsConfig); err != nil {
			c.d.log.Printf("%v", err)
		}
	}()
	return s, func() { cancel(); <-done }, nil
}

// checkTLS checks that a --cert and --key make a pair before they are saved.
func checkTLS(certPEM, keyPEM string) error { return web.CheckTLS(certPEM, keyPEM) }
