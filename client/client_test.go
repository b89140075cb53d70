package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gpmd/gpm/api"
)

// TestCallDecodesReply runs Call against a scripted peer on a net.Pipe: the daemon's side of the protocol is
// tested end to end in e2e; this covers how the client reads each kind of reply line.
func TestCallDecodesReply(t *testing.T) {
	tests := []struct {
		name    string
		reply   string
		want    []api.Process
		wantErr string
		code    string
	}{
		{"result", `{"id":1,"result":[{"id":3,"name":"web","status":"online","pid":77}]}`,
			[]api.Process{{ID: 3, Name: "web", Status: "online", PID: 77}}, "", ""},
		{"null result", `{"id":1,"result":null}`, nil, "", ""},
		{"no result", `{"id":1}`, nil, "", ""},
		{"error", `{"id":1,"error":{"code":"not_found","message":"no process named x"}}`, nil, "no process named x", api.CodeNotFound},
		{"bad line", `{"id":1,"result":[`, nil, "list: decode reply", ""},
		{"wrong type", `{"id":1,"result":{"a":1}}`, nil, "list: decode reply", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs, ss := net.Pipe()
			defer cs.Close()
			go func() {
				defer ss.Close()
				if _, err := bufio.NewReader(ss).ReadBytes('\n'); err != nil {
					return
				}
				ss.Write([]byte(tt.reply + "\n"))
			}()
			c := &Client{conn: cs, r: bufio.NewReader(cs)}
			var got []api.Process
			err := c.Call(context.Background(), api.MethodList, nil, &got)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("error %v", err)
			case tt.wantErr != "" && (err == nil || !bytes.Contains([]byte(err.Error()), []byte(tt.wantErr))):
				t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
			}
			if tt.code != "" {
				var ae *api.Error
				if !errors.As(err, &ae) || ae.Code != tt.code {
					t.Errorf("error %#v, want an *api.Error with code %q", err, tt.code)
				}
			}
			if tt.wantErr == "" {
				g, _ := json.Marshal(got)
				w, _ := json.Marshal(tt.want)
				if !bytes.Equal(g, w) {
					t.Errorf("result %s, want %s", g, w)
				}
			}
		})
	}
}

// TestTimeoutPatientCalls_Issue11Item4: a call that only reads fails with ErrNoAnswer when the daemon does not
// answer within the timeout; a long call (stop) keeps waiting as long as the daemon answers a ping meanwhile, so
// that a stop of apps with a long kill_timeout never hits the timeout.
func TestTimeoutPatientCalls_Issue11Item4(t *testing.T) {
	home, err := os.MkdirTemp("", "gpm-client-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(home)
	ln, err := net.Listen("unix", api.SocketPath(home))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	const slow = 1500 * time.Millisecond // how long the daemon takes to answer anything but ping
	var pings atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadBytes('\n')
					if err != nil {
						return
					}
					var req api.Request
					json.Unmarshal(line, &req)
					if req.Method == api.MethodPing {
						pings.Add(1)
					} else {
						time.Sleep(slow)
					}
					fmt.Fprintf(c, "{\"id\":%d,\"result\":[]}\n", req.ID)
				}
			}()
		}
	}()
	c, err := Dial(context.Background(), home)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetTimeout(slow / 5)
	if _, err := c.Stop(context.Background(), "web"); err != nil {
		t.Fatalf("stop answered after %v with pings answered meanwhile: %v", slow, err)
	}
	if pings.Load() == 0 {
		t.Errorf("stop waited past the timeout without checking that the daemon answers a ping")
	}
	c2, err := Dial(context.Background(), home)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	c2.SetTimeout(slow / 5)
	_, err = c2.List(context.Background())
	if !errors.Is(err, ErrNoAnswer) || !strings.Contains(err.Error(), api.SocketPath(home)) {
		t.Fatalf("list with no answer within the timeout: %v, want ErrNoAnswer naming the socket", err)
	}
}

// TestRefusalReadAfterEPIPE_Issue11Item9: a daemon at its connection limit answers with an error and closes before
// reading the request; the client reports that answer, not the EPIPE its write got.
func TestRefusalReadAfterEPIPE_Issue11Item9(t *testing.T) {
	home, err := os.MkdirTemp("", "gpm-client-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(home)
	ln, err := net.Listen("unix", api.SocketPath(home))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		c.Write([]byte(`{"error":{"code":"busy","message":"the daemon has 8192 control connections open, its limit (maxConns)"}}` + "\n"))
		c.Close()
	}()
	c, err := Dial(context.Background(), home)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Large enough not to fit in the socket buffer: the write fails.
	err = c.Call(context.Background(), api.MethodPing, map[string]string{"pad": strings.Repeat("x", 4<<20)}, nil)
	var ae *api.Error
	if !errors.As(err, &ae) || ae.Code != api.CodeBusy {
		t.Fatalf("Call against a refusing daemon: %v, want its CodeBusy answer", err)
	}
}

// TestCallAfterUnansweredCall: a call that gave up before its answer came (the timeout, the caller's context) leaves
// that answer on its way; the next call on the same Client must get its own answer, not the late one of the call
// before (a List read a trigger's results as its process list, and every later call the answer of the one before).
func TestCallAfterUnansweredCall(t *testing.T) {
	home, err := os.MkdirTemp("", "gpm-client-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(home)
	ln, err := net.Listen("unix", api.SocketPath(home))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	// The daemon answers "slow" once a release comes (after the client gave up on it), anything else at once,
	// in order on each connection as the daemon does; each answer names the method it answers.
	release := make(chan struct{}, 2)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadBytes('\n')
					if err != nil {
						return
					}
					var req api.Request
					json.Unmarshal(line, &req)
					if req.Method == "slow" {
						<-release
					}
					fmt.Fprintf(c, "{\"id\":%d,\"result\":{\"method\":%q}}\n", req.ID, req.Method)
				}
			}()
		}
	}()
	c, err := Dial(context.Background(), home)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, how := range []string{"timeout", "context"} {
		ctx, cancel := context.WithCancel(context.Background())
		c.SetTimeout(30 * time.Second)
		if how == "timeout" {
			c.SetTimeout(200 * time.Millisecond)
		} else {
			time.AfterFunc(200*time.Millisecond, cancel)
		}
		if err := c.Call(ctx, "slow", nil, nil); err == nil {
			t.Fatalf("%s: the slow call answered", how)
		}
		cancel()
		release <- struct{}{}
		c.SetTimeout(30 * time.Second)
		var got struct{ Method string }
		if err := c.Call(context.Background(), api.MethodVersion, nil, &got); err != nil || got.Method != api.MethodVersion {
			t.Errorf("after a %s: version got the answer to %q (%v), want its own", how, got.Method, err)
		}
	}
}
