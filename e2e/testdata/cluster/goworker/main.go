// Command goworker is a cluster test worker in Go that knows only systemd's protocols, through go-systemd: it
// takes its listener with activation.ListenersWithNames (LISTEN_FDS, LISTEN_PID, LISTEN_FDNAMES), serves HTTP on
// it, says READY=1 with daemon.SdNotify, and shuts down gracefully on SIGINT or SIGTERM.
//
// The graceful shutdown drains before it calls http.Server.Shutdown: since Go 1.23 (the fix of golang/go#65802),
// a connection accepted before Shutdown whose request is read after Shutdown began is closed without an answer
// (golang/go#75591, open): the client sees EOF. On a socket shared by several workers, that is a dropped request at
// every reload. So: keep-alives off, close the listener, wait for Serve to return (every accepted connection is
// then tracked), wait for the tracked connections to finish, and only then Shutdown.
//
// READY_DELAY (seconds) delays serving and readiness. GET / answers "pid PID instance N name FDNAME"; GET /slow
// writes the headers, waits 0.5 s, then writes the body.
package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/coreos/go-systemd/v22/activation"
	"github.com/coreos/go-systemd/v22/daemon"
)

func main() {
	named, err := activation.ListenersWithNames()
	if err != nil {
		fatal("listeners: %v", err)
	}
	var name string
	var count int
	for n, ls := range named {
		count += len(ls)
		name = n
	}
	if count != 1 {
		fatal("want exactly one inherited listener, got %d (LISTEN_FDS=%q LISTEN_PID=%q pid %d)", count,
			os.Getenv("LISTEN_FDS"), os.Getenv("LISTEN_PID"), os.Getpid())
	}
	ln := named[name][0]
	if d := os.Getenv("READY_DELAY"); d != "" {
		secs, err := strconv.ParseFloat(d, 64)
		if err != nil {
			fatal("READY_DELAY=%q: %v", d, err)
		}
		time.Sleep(time.Duration(secs * float64(time.Second)))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	reply := fmt.Sprintf("pid %d instance %s name %s\n", os.Getpid(), os.Getenv("GPM_INSTANCE"), name)
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprint(w, reply)
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		time.Sleep(500 * time.Millisecond)
		fmt.Fprint(w, reply)
	})
	var mu sync.Mutex
	conns := map[net.Conn]bool{}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ConnState: func(c net.Conn, st http.ConnState) {
		mu.Lock()
		defer mu.Unlock()
		if st == http.StateClosed || st == http.StateHijacked {
			delete(conns, c)
		} else {
			conns[c] = true
		}
	}}
	open := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(conns)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	if _, err := daemon.SdNotify(false, fmt.Sprintf("READY=1\nSTATUS=serving pid %d on %s", os.Getpid(), ln.Addr())); err != nil {
		fatal("sd_notify: %v", err)
	}
	fmt.Printf("worker %d serving on %s (%s)\n", os.Getpid(), ln.Addr(), name)
	select {
	case <-ctx.Done():
	case err := <-served:
		fatal("serve: %v", err)
	}
	daemon.SdNotify(false, daemon.SdNotifyStopping)
	deadline := time.Now().Add(10 * time.Second)
	srv.SetKeepAlivesEnabled(false)
	ln.Close()
	<-served
	for open() > 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	sctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		fatal("shutdown: %v", err)
	}
	fmt.Printf("worker %d stopped gracefully\n", os.Getpid())
}

func fatal(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "goworker: "+format+"\n", args...)
	os.Exit(1)
}
