package dbusapi

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/gpmd/gpm/api"
)

// Config is what Run needs of the daemon.
type Config struct {
	// Caller runs the daemon's operations (service.Daemon.Caller): the same checks and limits as the control socket.
	Caller api.Caller
	// Admits is the daemon's access rule: whether a caller of uid and groups gids (nil when the bus does not say)
	// may change state. Reads are open to whoever the bus policy lets through.
	Admits func(uid int, gids []int) bool
	// Log receives one line per change of the connection (served, lost, no bus) and per failure; nil discards.
	Log *log.Logger
	// Env is the daemon's environment, where the bus addresses are found: AddressEnv, then
	// DBUS_SYSTEM_BUS_ADDRESS for a System daemon, DBUS_SESSION_BUS_ADDRESS and XDG_RUNTIME_DIR otherwise.
	Env map[string]string
	// System selects the system bus (the system daemon); else the session bus of the daemon's user.
	System bool
	// SampleSignals is how often at most one process's CPU and memory properties go out in PropertiesChanged (the
	// values read through Get follow every sample); 0 means DefaultSampleSignals.
	SampleSignals time.Duration
}

// DefaultSampleSignals spaces the PropertiesChanged signals that only carry new cpu and memory figures: with 50
// apps sampled every 2 s, a signal per sample would be 25 broadcasts a second on the bus for every listener.
const DefaultSampleSignals = 10 * time.Second

// Times of the connection's life.
const (
	// connectTimeout bounds the authentication and Hello with a bus that accepted the connection but does not answer.
	connectTimeout = 10 * time.Second
	// minBackoff and maxBackoff space the attempts to reach a bus that went away or refused the name.
	minBackoff = 250 * time.Millisecond
	maxBackoff = 30 * time.Second
	// noBusPoll is how often the daemon looks again for a bus that is not there (a session bus that appears at
	// login, a dbus package installed later): a stat, nothing logged.
	noBusPoll = 30 * time.Second
)

// Run serves io.gpm.Manager1 until ctx ends. It finds the bus (Config.Env), connects, exports the objects and asks
// for the name; when the bus goes away (dbus restarted) or the name is taken, it tries again with a growing delay.
// No bus is not an error: one line in the log, and a quiet look again now and then. Run never spawns a bus
// (dbus-launch) and never fails the daemon; it returns when ctx ends, after its goroutines and calls have ended.
func Run(ctx context.Context, cfg Config) {
	if cfg.Log == nil {
		cfg.Log = log.New(discard{}, "", 0)
	}
	if cfg.SampleSignals <= 0 {
		cfg.SampleSignals = DefaultSampleSignals
	}
	var said string // the last problem logged: a retry loop logs each problem once
	say := func(format string, args ...any) {
		if m := fmt.Sprintf(format, args...); m != said {
			said = m
			cfg.Log.Print(m)
		}
	}
	backoff := minBackoff
	for {
		addr, what := busAddress(cfg.Env, cfg.System)
		kind := busKind(cfg.System)
		if what == AddressEnv {
			kind = "bus"
		}
		wait := noBusPoll
		switch {
		case addr == "off":
			cfg.Log.Printf("dbus: off (%s=off)", AddressEnv)
			return
		case addr == "":
			say("dbus: no %s: io.gpm.Manager1 is not served (looked at %s)", kind, what)
		default:
			served, err := serve(ctx, cfg, addr, func() {
				said = ""
				cfg.Log.Printf("dbus: serving %s on the %s (%s)", BusName, kind, what)
			})
			if ctx.Err() != nil {
				return
			}
			if served {
				backoff = minBackoff
				cfg.Log.Printf("dbus: lost the %s (%v); connecting again", kind, err)
			} else {
				say("dbus: %s (%s): %v; trying again, at most every %v", kind, what, err, maxBackoff)
			}
			wait, backoff = backoff, min(2*backoff, maxBackoff)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func busKind(system bool) string {
	if system {
		return "system bus"
	}
	return "session bus"
}

// busAddress finds the bus: AddressEnv, else for the system daemon DBUS_SYSTEM_BUS_ADDRESS or the standard socket,
// else DBUS_SESSION_BUS_ADDRESS or $XDG_RUNTIME_DIR/bus. It returns "" (and where it looked) when there is none, and
// "off" when AddressEnv says so. It never considers autolaunch: a daemon must not start a bus of its own.
func busAddress(env map[string]string, system bool) (addr, what string) {
	if a := env[AddressEnv]; a != "" {
		return a, AddressEnv
	}
	if system {
		if a := env["DBUS_SYSTEM_BUS_ADDRESS"]; a != "" {
			return a, "DBUS_SYSTEM_BUS_ADDRESS"
		}
		for _, p := range []string{"/run/dbus/system_bus_socket", "/var/run/dbus/system_bus_socket"} {
			if _, err := os.Stat(p); err == nil {
				return "unix:path=" + p, p
			}
		}
		return "", "DBUS_SYSTEM_BUS_ADDRESS, /run/dbus/system_bus_socket"
	}
	if a := env["DBUS_SESSION_BUS_ADDRESS"]; a != "" && !strings.HasPrefix(a, "autolaunch:") {
		return a, "DBUS_SESSION_BUS_ADDRESS"
	}
	if dir := env["XDG_RUNTIME_DIR"]; dir != "" {
		p := filepath.Join(dir, "bus")
		if _, err := os.Stat(p); err == nil {
			return "unix:path=" + dbus.EscapeBusAddressValue(p), p
		}
		return "", "DBUS_SESSION_BUS_ADDRESS, " + p
	}
	return "", "DBUS_SESSION_BUS_ADDRESS, $XDG_RUNTIME_DIR/bus (XDG_RUNTIME_DIR is not set)"
}

// serve connects to addr and serves the name until the connection or ctx ends. served says whether it owned the
// name (onServed was called); err says why it ended.
func serve(ctx context.Context, cfg Config, addr string, onServed func()) (served bool, err error) {
	conn, err := connect(ctx, addr)
	if err != nil {
		return false, err
	}
	// A second daemon on the same session bus finds the name taken: it learns so before it sets anything up.
	var taken bool
	if err := conn.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.NameHasOwner", 0, BusName).Store(&taken); err == nil && taken {
		conn.Close()
		return false, fmt.Errorf("the name %s is taken: another gpm daemon (or another program) has it", BusName)
	}
	s := newSession(conn, cfg)
	defer func() {
		conn.Close() // first: the session's goroutines and calls end with the connection's context
		s.close()
	}()
	if err := s.export(); err != nil {
		return false, err
	}
	s.start()
	reply, err := conn.RequestName(BusName, dbus.NameFlagDoNotQueue)
	switch {
	case err != nil:
		return false, fmt.Errorf("request the name %s: %w", BusName, err)
	case reply != dbus.RequestNameReplyPrimaryOwner && reply != dbus.RequestNameReplyAlreadyOwner:
		return false, fmt.Errorf("the name %s is %s: another gpm daemon (or another program) has it", BusName, reply)
	}
	onServed()
	<-conn.Context().Done()
	if ctx.Err() != nil {
		return true, ctx.Err()
	}
	return true, errors.New("the connection closed")
}

// connect dials addr and authenticates, within connectTimeout: godbus's handshake has no deadline of its own, and a
// bus that accepts but never answers must not hold the daemon's shutdown.
func connect(ctx context.Context, addr string) (*dbus.Conn, error) {
	conn, err := dbus.Dial(addr, dbus.WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	tctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	stop := context.AfterFunc(tctx, func() { conn.Close() })
	err = conn.Auth(nil)
	if err == nil {
		err = conn.Hello()
	}
	if !stop() || err != nil {
		conn.Close()
		if err == nil || tctx.Err() != nil {
			return nil, fmt.Errorf("connect: no answer from the bus within %v", connectTimeout)
		}
		return nil, fmt.Errorf("connect: %w", err)
	}
	return conn, nil
}
