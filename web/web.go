// Package web is gpm's HTTP API: the daemon's processes as JSON, their actions, live events as Server-Sent Events,
// Prometheus metrics and the dashboard page, served from inside the daemon (docs/HTTP.md).
//
// The server reaches the daemon only through an api.Caller, the operations of the control socket with their checks
// and limits: it sees and does what `gpm` could, nothing more. Every request but a GET on a loopback address (or
// the daemon's unix socket) needs the bearer token of $GPM_HOME/web.token.
package web

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gpmd/gpm/api"
	"github.com/gpmd/gpm/web/dashboard"
)

// Limits of the HTTP API, each named in the error that reports it.
const (
	// MaxActionBody bounds the body of an action (POST .../restart, .../signal, /api/save): a small JSON object.
	MaxActionBody = 64 << 10
	// MaxProcessFile bounds the body of POST /api/processes, a process file: thousands of apps fit.
	MaxProcessFile = 4 << 20
	// MaxHeaderBytes bounds a request's header.
	MaxHeaderBytes = 64 << 10
	// MaxLogLines bounds ?lines= of the logs endpoint, as the control socket does (api.MaxLogLines).
	MaxLogLines = api.MaxLogLines
	// MaxLogsAnswer bounds the lines of one answer of the logs endpoint, in bytes of JSON (about): the answer is
	// held until the last line is read, and ?lines= of long lines, or of every app's files, would otherwise hold
	// gigabytes of the daemon's memory.
	MaxLogsAnswer = 16 << 20
)

// Timeouts of the server: a client that sends its request slowly is cut off; a response is not limited (an SSE
// stream lasts as long as its reader), but each write of one is (sseWriteTimeout).
const (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 30 * time.Second
	idleTimeout       = 120 * time.Second
	// shutdownTimeout is how long Serve waits for requests in flight when its context ends.
	shutdownTimeout = 5 * time.Second
)

// Options configure a Server.
type Options struct {
	// Caller is the daemon's operations (service.Daemon.Caller, or a *client.Client over the socket).
	Caller api.Caller
	// Token is the bearer token requests must carry (hex, from the token file); empty refuses every request
	// that needs one.
	Token string
	// Logger receives the server's errors; nil discards them.
	Logger *log.Logger
	// Version is the daemon's version, for /api/version and /metrics.
	Version string
}

// Server is the HTTP API of one daemon. Its zero value is not usable: use New.
type Server struct {
	caller  api.Caller
	log     *log.Logger
	version string
	started time.Time

	tokenMu sync.RWMutex
	token   string

	events *hub
	stats  stats
	mux    *http.ServeMux
}

// New returns a server for opts. It serves nothing until Serve.
func New(opts Options) *Server {
	s := &Server{caller: opts.Caller, log: opts.Logger, version: opts.Version, token: opts.Token, started: time.Now()}
	if s.log == nil {
		s.log = log.New(discard{}, "", 0)
	}
	s.events = newHub(s)
	s.routes()
	return s
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// SetToken replaces the token requests must carry (gpm web --rotate-token); requests already admitted go on.
func (s *Server) SetToken(token string) {
	s.tokenMu.Lock()
	s.token = token
	s.tokenMu.Unlock()
}

func (s *Server) currentToken() string {
	s.tokenMu.RLock()
	defer s.tokenMu.RUnlock()
	return s.token
}

// Handler is the server's whole surface, with its checks (auth, Host, content types); for tests and for a caller
// that serves it on its own listener.
func (s *Server) Handler() http.Handler { return s.mux }

func (s *Server) routes() {
	m := http.NewServeMux()
	m.HandleFunc("GET /api/processes", s.read(s.handleList))
	m.HandleFunc("GET /api/processes/{target}", s.read(s.handleGet))
	m.HandleFunc("GET /api/processes/{target}/logs", s.read(s.handleLogs))
	m.HandleFunc("GET /api/system", s.read(s.handleSystem))
	m.HandleFunc("GET /api/version", s.read(s.handleVersion))
	m.HandleFunc("GET /api/openapi.json", s.read(s.handleOpenAPI))
	m.HandleFunc("GET /api/events", s.read(s.handleEvents))
	m.HandleFunc("GET /metrics", s.read(s.handleMetrics))
	m.HandleFunc("POST /api/processes/{target}/{action}", s.write(MaxActionBody, s.handleAction))
	m.HandleFunc("POST /api/processes", s.write(MaxProcessFile, s.handleStartFile))
	m.HandleFunc("POST /api/save", s.write(MaxActionBody, s.handleSave))
	// Any other /api/ path is a JSON 404 (or 405), not the dashboard's page.
	m.HandleFunc("/api/", s.read(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, &api.Error{Code: api.CodeNotFound, Message: "no such endpoint: " + r.Method + " " + r.URL.Path + " (docs/HTTP.md lists them)"})
	}))
	// The page holds no data (it asks for the token and then calls the API), so it is served to anyone who reaches
	// the address, as the login page of any web app is.
	m.Handle("/", dashboard.Handler())
	s.mux = m
}

// Serve serves the API on ln until ctx ends, then shuts down (requests in flight get shutdownTimeout; event streams
// end at once). With tlsConfig, connections are TLS. It returns the listener's error, or nil once ctx ended and
// the server shut down.
//
// The live events come from the server's subscriptions to the daemon, held while Serve runs (events.go).
func (s *Server) Serve(ctx context.Context, ln net.Listener, tlsConfig *tls.Config) error {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { s.events.run(ctx) })
	defer func() {
		cancel() // first: the subscription ends with ctx
		wg.Wait()
	}()
	hs := &http.Server{
		Handler:           s.mux,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    MaxHeaderBytes,
		ErrorLog:          s.log,
		TLSConfig:         tlsConfig,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	// The count is of the transport's connections, below TLS: a client that never finishes its handshake holds one.
	ln = &limitListener{Listener: ln, max: MaxConnections, tls: tlsConfig != nil, log: s.log.Printf}
	if tlsConfig != nil {
		ln = tls.NewListener(ln, tlsConfig)
	}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("web: serve %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	cancel() // ends the event streams, whose handlers watch the base context
	sctx, scancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer scancel()
	if err := hs.Shutdown(sctx); err != nil {
		hs.Close()
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("web: serve %s: %w", ln.Addr(), err)
	}
	return nil
}
