package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/gpmd/gpm/client"
	"github.com/gpmd/gpm/web/webctl"
)

// cmdWeb turns the daemon's HTTP API on (at ADDR, or where it was, or webctl.DefaultAddr), off, or rotates its token,
// and prints where it is, the token file and a link that carries the token.
func cmdWeb(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("web")
	public := fs.Bool("public", false, "allow an address that is not loopback (give --cert and --key too, or the token travels in clear text)")
	cert := fs.String("cert", "", "TLS certificate (PEM) to serve with; copied into GPM_HOME")
	key := fs.String("key", "", "TLS key (PEM) of --cert; copied into GPM_HOME")
	off := fs.Bool("off", false, "turn the HTTP API off (and keep it off across daemon restarts)")
	rotate := fs.Bool("rotate-token", false, "make a new token; the old one stops working at once")
	status := fs.Bool("status", false, "only print whether the API is on, and where")
	restart := fs.Bool("restart", false, "when the daemon runs gpmd, which has no HTTP server, and has apps, restart it on gpmd-web now as gpm update does (every app restarts; a daemon without apps is moved anyway)")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 1 {
		return fmt.Errorf("expected at most one address (host:port or unix:/path)")
	}
	if (*cert == "") != (*key == "") {
		return fmt.Errorf("--cert and --key go together")
	}
	p := webctl.Params{Public: *public, Off: *off, RotateToken: *rotate, Status: *status}
	if fs.NArg() == 1 {
		p.Addr = fs.Arg(0)
		if path, ok := strings.CutPrefix(p.Addr, "unix:"); ok {
			p.Addr = "unix:" + c.abs(path)
		}
		// Checked here too, so that the refusal comes before the daemon starts.
		if _, err := webctl.CheckAddr(p.Addr, *public, *cert != ""); err != nil {
			return err
		}
	}
	if *cert != "" {
		// Read as the calling user, not by the daemon (which may be root): the daemon keeps its own copies.
		for _, f := range []struct {
			path string
			dst  *string
		}{{*cert, &p.CertPEM}, {*key, &p.KeyPEM}} {
			b, err := readLimited(c.abs(f.path), webctl.MaxPEM)
			if err != nil {
				return err
			}
			*f.dst = string(b)
		}
	}
	conn, err := c.client(ctx)
	if err != nil {
		return err
	}
	var st webctl.Status
	if err := conn.Call(ctx, webctl.Method, p, &st); err != nil {
		return err
	}
	if st.Warning != "" {
		fmt.Fprintf(c.stderr, "gpm: warning: %s\n", st.Warning)
	}
	if !st.On {
		fmt.Fprintf(c.stdout, "HTTP API off\n")
		if *rotate {
			fmt.Fprintf(c.stdout, "token:  %s (new)\n", st.TokenPath)
		}
		return nil
	}
	where := st.URL
	if where == "" {
		where = st.Addr
	}
	// Only a call that turns the API on (or moves it) restarts a daemon that runs gpmd; --status and a lone
	// --rotate-token only report.
	turnsOn := !*status && !(*rotate && p.Addr == "" && !*public && *cert == "")
	if st.Restart && (!*restart || !turnsOn) {
		// A daemon with no process to restart is moved at once: nothing is lost.
		idle := false
		if turnsOn {
			if idle, err = idleUnsupervised(ctx, conn); err != nil {
				return err
			}
		}
		if idle {
			return c.webRestart(ctx, &st, where, func() error {
				if err := conn.Kill(ctx); err != nil {
					return err
				}
				conn.Close()
				c.conn = nil
				return nil
			})
		}
		fmt.Fprintf(c.stdout, "HTTP API on %s once the daemon restarts\n", where)
		printToken(c, &st)
		if turnsOn {
			fmt.Fprintf(c.stderr, "gpm: this daemon runs gpmd, built without the HTTP server (it costs the daemon 2 MB while off); "+
				"the setting is saved and gpmd-web serves it once the daemon restarts: gpm web --restart or gpm update (every app restarts), or a restart of its service\n")
		}
		return nil
	}
	if st.Restart {
		return c.webRestart(ctx, &st, where, func() error { return cmdUpdate(ctx, c, nil) })
	}
	fmt.Fprintf(c.stdout, "HTTP API on %s\n", where)
	printToken(c, &st)
	return nil
}

// printToken prints where the token is and the link that carries it.
func printToken(c *cli, st *webctl.Status) {
	fmt.Fprintf(c.stdout, "token:  %s\n", st.TokenPath)
	if st.Link != "" {
		fmt.Fprintf(c.stdout, "open:   %s\n", st.Link)
	}
}

// idleUnsupervised reports whether the daemon has no process at all (modules count) and no service manager, so
// that restarting it on gpmd-web loses nothing.
func idleUnsupervised(ctx context.Context, conn *client.Client) (bool, error) {
	v, err := conn.Version(ctx)
	if err != nil || v.Supervised {
		return false, err
	}
	list, err := conn.List(ctx)
	return len(list) == 0, err
}

// webRestart stops the daemon that runs gpmd (stop: gpm update, or a kill of an idle one), lets the next call start
// one, which runs gpmd-web since the setting is on, and checks that it serves (an address taken, a certificate it
// cannot load: the daemon's log says why).
func (c *cli) webRestart(ctx context.Context, st *webctl.Status, where string, stop func() error) error {
	if err := stop(); err != nil {
		return err
	}
	conn, err := c.client(ctx)
	if err != nil {
		return err
	}
	if err := conn.Call(ctx, webctl.Method, webctl.Params{Status: true}, st); err != nil {
		return err
	}
	if !st.Serving {
		return fmt.Errorf("the daemon restarted, but the HTTP API is not serving: %s", cmp.Or(st.Warning, "gpmd-web did not take over (is it installed beside gpmd?); the daemon's log says why"))
	}
	fmt.Fprintf(c.stdout, "HTTP API on %s\n", where)
	printToken(c, st)
	return nil
}

// readLimited reads path, refusing one over limit bytes.
func readLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s: over the limit of %d bytes (webctl.MaxPEM)", path, limit)
	}
	return b, nil
}
