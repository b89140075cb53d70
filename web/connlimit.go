package web

import (
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// MaxConnections bounds the server's open connections, idle ones and event streams included (a connection costs a
// goroutine and its buffers, about 20 KB, and a descriptor of the daemon's, which its apps' pipes and logs need
// too). One more is answered 503 before its request is read, and closed, as the control socket answers busy.
const MaxConnections = 1024

// limitListener counts the connections its Accept returned until they close, and refuses those over max.
// (x/net/netutil.LimitListener stops accepting at its limit instead: a client then waits in the backlog with no
// answer, and an event stream that never ends would hold the API shut for everyone else.)
type limitListener struct {
	net.Listener
	max  int64
	tls  bool // the connections are TLS, not yet handshaken: a refused one is closed without an answer
	open atomic.Int64
	// refused counts the connections refused since the count was last under max; Accept's goroutine only.
	refused int64
	log     func(format string, args ...any)
}

// busyAnswer is the answer to a connection over MaxConnections.
var busyAnswer = func() string {
	body := fmt.Sprintf(`{"error":{"code":"busy","message":"the server has %d connections open, its limit (web.MaxConnections): try again"}}`+"\n",
		MaxConnections)
	return fmt.Sprintf("HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
		len(body), body)
}()

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.open.Add(1) > l.max {
			l.open.Add(-1)
			if l.refused++; l.refused == 1 {
				l.log("web: %d connections open (the limit, web.MaxConnections): refusing more until one closes", l.max)
			}
			if !l.tls {
				// A fresh socket's buffer is empty: the write does not wait.
				c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
				c.Write([]byte(busyAnswer))
			}
			c.Close()
			continue
		}
		if l.refused > 0 {
			l.log("web: admitting connections again after refusing %d", l.refused)
			l.refused = 0
		}
		return &countedConn{Conn: c, l: l}, nil
	}
}

// countedConn gives its place back once, on its first Close.
type countedConn struct {
	net.Conn
	l    *limitListener
	once sync.Once
}

func (c *countedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.open.Add(-1) })
	return err
}
