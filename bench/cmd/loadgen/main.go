// Command loadgen is the HTTP load generator of bench/cluster.sh. It sends GET / to one address from C connections
// back to back and counts what went wrong, by kind:
//
//   - refused: connect(2) failed with ECONNREFUSED (nothing listening, or the listen queue overflowed);
//   - dial: any other connect failure (timeout, no local port left);
//   - failed: the connection was made but no complete 200 response came back (reset, EOF before the end of the
//     response, a timeout, or a status other than 200).
//
// Without -keepalive every request opens a new connection ("Connection: close"), which is what a reload has to
// survive: connections that arrive while workers come and go. With -keepalive each of the C connections is reused.
// It runs for -d, or until SIGINT/SIGTERM when -d is 0, then prints one JSON object on stdout.
//
//	go run ./bench/cmd/loadgen -addr 127.0.0.1:8080 -c 8 -d 10s
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

type result struct {
	Addr       string   `json:"addr"`
	Conns      int      `json:"conns"`
	KeepAlive  bool     `json:"keepalive"`
	Seconds    float64  `json:"seconds"`
	OK         int64    `json:"ok"`
	RPS        float64  `json:"rps"`
	Failed     int64    `json:"failed"`
	Refused    int64    `json:"refused"`
	DialErrors int64    `json:"dial_errors"`
	Non200     int64    `json:"non_200"`
	Timeouts   int64    `json:"timeouts"`
	MaxLatMS   float64  `json:"max_latency_ms"`
	Samples    []string `json:"error_samples,omitempty"`
	Bodies     int      `json:"distinct_bodies"`
}

type counters struct {
	ok, failed, refused, dial, non200, timeouts atomic.Int64
	maxLat                                      atomic.Int64 // ns

	mu      sync.Mutex
	samples []string
	bodies  map[string]struct{}
}

func (c *counters) sample(kind string, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.samples) < 20 {
		c.samples = append(c.samples, fmt.Sprintf("%s %s: %v", time.Now().Format("15:04:05.000"), kind, err))
	}
}

func (c *counters) lat(d time.Duration) {
	for {
		cur := c.maxLat.Load()
		if int64(d) <= cur || c.maxLat.CompareAndSwap(cur, int64(d)) {
			return
		}
	}
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "host:port to load")
	conns := flag.Int("c", 8, "concurrent connections")
	dur := flag.Duration("d", 10*time.Second, "how long; 0 runs until SIGINT/SIGTERM")
	keepAlive := flag.Bool("keepalive", false, "reuse each connection (HTTP/1.1 keep-alive)")
	timeout := flag.Duration("timeout", 10*time.Second, "per request: connect plus response")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if *dur > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *dur)
		defer cancel()
	}
	c := &counters{bodies: map[string]struct{}{}}
	req := []byte("GET / HTTP/1.1\r\nHost: " + *addr + "\r\nConnection: close\r\n\r\n")
	if *keepAlive {
		req = []byte("GET / HTTP/1.1\r\nHost: " + *addr + "\r\n\r\n")
	}
	start := time.Now()
	var wg sync.WaitGroup
	for i := 0; i < *conns; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			worker(ctx, c, *addr, req, *keepAlive, *timeout)
		}()
	}
	wg.Wait()
	secs := time.Since(start).Seconds()
	r := result{
		Addr: *addr, Conns: *conns, KeepAlive: *keepAlive, Seconds: secs,
		OK: c.ok.Load(), Failed: c.failed.Load(), Refused: c.refused.Load(), DialErrors: c.dial.Load(),
		Non200: c.non200.Load(), Timeouts: c.timeouts.Load(),
		MaxLatMS: float64(c.maxLat.Load()) / 1e6, Samples: c.samples, Bodies: len(c.bodies),
	}
	r.RPS = float64(r.OK) / secs
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

// worker sends requests until ctx ends. A request already sent when ctx ends is still awaited: stopping the load
// must not count as a failure.
func worker(ctx context.Context, c *counters, addr string, req []byte, keepAlive bool, timeout time.Duration) {
	var conn net.Conn
	var br *bufio.Reader
	defer func() {
		if conn != nil {
			conn.Close()
		}
	}()
	d := net.Dialer{Timeout: timeout}
	for ctx.Err() == nil {
		t0 := time.Now()
		if conn == nil {
			var err error
			conn, err = d.Dial("tcp", addr)
			if err != nil {
				conn = nil
				if errors.Is(err, syscall.ECONNREFUSED) {
					c.refused.Add(1)
					c.sample("refused", err)
				} else {
					c.dial.Add(1)
					c.sample("dial", err)
				}
				time.Sleep(time.Millisecond) // do not spin on a closed port
				continue
			}
			br = bufio.NewReaderSize(conn, 4096)
		}
		conn.SetDeadline(t0.Add(timeout))
		body, err := roundTrip(conn, br, req)
		c.lat(time.Since(t0))
		switch {
		case err == nil:
			c.ok.Add(1)
			c.mu.Lock()
			if len(c.bodies) < 1000 {
				c.bodies[string(body)] = struct{}{}
			}
			c.mu.Unlock()
		case errors.Is(err, errStatus):
			c.failed.Add(1)
			c.non200.Add(1)
			c.sample("status", err)
		default:
			c.failed.Add(1)
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				c.timeouts.Add(1)
			}
			c.sample("failed", err)
		}
		if !keepAlive || err != nil {
			conn.Close()
			conn = nil
		}
	}
}

var errStatus = errors.New("status is not 200")

func roundTrip(conn net.Conn, br *bufio.Reader, req []byte) ([]byte, error) {
	if _, err := conn.Write(req); err != nil {
		return nil, fmt.Errorf("write: %w", err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return nil, fmt.Errorf("read response: %w", err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: %s", errStatus, resp.Status)
	}
	return body, nil
}
