package service

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gpmd/gpm/api"
)

// testServer serves d's control protocol on a fresh socket, without Run: ping and the refusals need no loop.
func testServer(t *testing.T, d *Daemon) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "gpm-ctl-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "s")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); ln.Close() })
	go d.serve(ctx, ln)
	return sock
}

// reply sends line (unless empty) on c and returns the answer, within a generous deadline.
func reply(t *testing.T, c net.Conn, line string) api.Response {
	t.Helper()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	if line != "" {
		if _, err := c.Write([]byte(line + "\n")); err != nil {
			t.Fatalf("write: %v", err)
		}
	}
	b, err := bufio.NewReader(c).ReadBytes('\n')
	if err != nil {
		t.Fatalf("read the answer: %v", err)
	}
	var r api.Response
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("answer %q: %v", b, err)
	}
	return r
}

const pingLine = `{"v":1,"id":1,"method":"ping"}`

func dialT(t *testing.T, sock string) net.Conn {
	t.Helper()
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestControlConnCap_Issue11Item9: past maxConns open connections, one more is answered with CodeBusy naming the
// limit and closed; once one closes, connections are served again.
func TestControlConnCap_Issue11Item9(t *testing.T) {
	d := New(Options{Home: t.TempDir()})
	d.ctl.maxConns = 8
	sock := testServer(t, d)
	var open []net.Conn
	for i := 0; i < 8; i++ {
		open = append(open, dialT(t, sock))
	}
	if r := reply(t, open[0], pingLine); r.Error != nil {
		t.Fatalf("ping within the limit: %v", r.Error)
	}
	r := reply(t, dialT(t, sock), "")
	if r.Error == nil || r.Error.Code != api.CodeBusy || !strings.Contains(r.Error.Message, "maxConns") {
		t.Fatalf("connection over the limit: %+v, want CodeBusy naming maxConns", r.Error)
	}
	open[1].Close()
	deadline := time.Now().Add(20 * time.Second)
	for d.ctl.conns.Load() >= 8 {
		if time.Now().After(deadline) {
			t.Fatalf("a closed connection still counts: %d open", d.ctl.conns.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if r := reply(t, dialT(t, sock), pingLine); r.Error != nil {
		t.Fatalf("ping after one closed: %v", r.Error)
	}
}

// TestControlRequestLimits_Issue11Item9: a line over api.MaxRequest (20 MB, no newline) is answered with
// CodeTooLarge naming the limit, instead of a silent close; a long line when maxRequestBytes are spent is answered
// with CodeBusy; the bytes borrowed are given back; an ordinary request still works meanwhile.
func TestControlRequestLimits_Issue11Item9(t *testing.T) {
	d := New(Options{Home: t.TempDir()})
	sock := testServer(t, d)

	c := dialT(t, sock)
	go func() {
		chunk := bytes.Repeat([]byte("x"), 1<<20)
		for i := 0; i < 20; i++ {
			if _, err := c.Write(chunk); err != nil {
				return // the daemon has answered and closed
			}
		}
	}()
	r := reply(t, c, "")
	if r.Error == nil || r.Error.Code != api.CodeTooLarge || !strings.Contains(r.Error.Message, "api.MaxRequest") {
		t.Fatalf("20 MB line: %+v, want CodeTooLarge naming api.MaxRequest", r.Error)
	}

	d.ctl.maxReqBytes = 1 << 20
	long := `{"v":1,"id":1,"method":"ping","params":{"x":"` + strings.Repeat("y", 2<<20) + `"}}`
	c2 := dialT(t, sock)
	go c2.Write([]byte(long + "\n"))
	r = reply(t, c2, "")
	if r.Error == nil || r.Error.Code != api.CodeBusy || !strings.Contains(r.Error.Message, "maxRequestBytes") {
		t.Fatalf("2 MB line with 1 MB of request bytes: %+v, want CodeBusy naming maxRequestBytes", r.Error)
	}
	d.ctl.maxReqBytes = 0
	if r := reply(t, dialT(t, sock), long); r.Error != nil {
		t.Fatalf("2 MB line within the limits: %v", r.Error)
	}
	deadline := time.Now().Add(20 * time.Second)
	for d.ctl.reqBytes.Load() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d request bytes still borrowed after every request was answered", d.ctl.reqBytes.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
