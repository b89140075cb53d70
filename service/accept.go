package service

import (
	"errors"
	"net"
	"time"
)

// Backoff of acceptLoop after a failed Accept: net/http's Server.Serve uses the same.
const (
	acceptBackoffMin = 5 * time.Millisecond
	acceptBackoffMax = time.Second
)

// acceptLoop accepts connections on ln and hands each to handle (which must not block: it starts a goroutine) until
// ln is closed. Every other Accept error is retried, after a pause doubling from acceptBackoffMin to
// acceptBackoffMax: EMFILE, ENFILE, ENOBUFS or ECONNABORTED pass once connections close, and a listener that
// returned on the first of them left the daemon running, deaf, until someone killed it (issue 11, item 4). The first
// failure of a burst is logged, and the first success after it, with how many failed; what names the listener in
// the log.
//
// Every accept loop of the daemon (control socket, Node notify stream) should go through it.
func acceptLoop(ln net.Listener, logf func(format string, args ...any), what string, handle func(net.Conn)) {
	var delay time.Duration
	failed := 0
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			if failed == 0 {
				logf("%s: accept: %v: retrying (with a pause of up to %v) until it passes", what, err, acceptBackoffMax)
			}
			failed++
			delay = min(max(2*delay, acceptBackoffMin), acceptBackoffMax)
			time.Sleep(delay)
			continue
		}
		if failed > 0 {
			logf("%s: accepting again after %d failed accepts", what, failed)
			failed, delay = 0, 0
		}
		handle(c)
	}
}
