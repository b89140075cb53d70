package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/gpmd/gpm/api"
)

// replyOnce answers the first request line on a net.Pipe with reply (sent in pieces of chunk bytes, so that the
// client's reads split it everywhere) and returns a Client whose reader holds size bytes.
func replyOnce(t *testing.T, reply string, chunk, size int) *Client {
	t.Helper()
	cs, ss := net.Pipe()
	t.Cleanup(func() { cs.Close() })
	go func() {
		defer ss.Close()
		if _, err := bufio.NewReader(ss).ReadBytes('\n'); err != nil {
			return
		}
		for b := []byte(reply); len(b) > 0; {
			n := min(chunk, len(b))
			if _, err := ss.Write(b[:n]); err != nil {
				return
			}
			b = b[n:]
		}
	}()
	return &Client{conn: cs, r: bufio.NewReaderSize(cs, size)}
}

// CopyResult writes exactly the bytes Call would decode as a json.RawMessage, however the line is cut into reads;
// nothing for a null or absent result; the daemon's error as *api.Error; a line that is not JSON, or whose result
// does not close as it opened, as a decode error.
func TestCopyResult(t *testing.T) {
	big := `[` + strings.Repeat(`{"id":1,"name":"a}]\"b","config":{"args":["}"]}},`, 50) + `{}]`
	tests := []struct {
		name, reply, want, wantErr, code string
	}{
		{"array", `{"id":1,"result":` + big + `}`, big, "", ""},
		{"object", `{"id":1,"result":{"msg":"pong"}}`, `{"msg":"pong"}`, "", ""},
		{"empty array", `{"id":1,"result":[]}`, `[]`, "", ""},
		{"null", `{"id":1,"result":null}`, ``, "", ""},
		{"absent", `{"id":1}`, ``, "", ""},
		{"scalar", `{"id":1,"result":3}`, `3`, "", ""},
		{"other encoding", `{"result":[1,2], "id":1}`, `[1,2]`, "", ""},
		{"error", `{"id":1,"error":{"code":"not_found","message":"no process named x"}}`, ``, "no process named x", api.CodeNotFound},
		{"bad line", `{"id":1,"result":[`, ``, "list: decode reply", ""},
		{"bad close", `{"id":1,"result":[1,2}`, ``, "list: decode reply", ""},
		{"no envelope close", `{"id":1,"result":[1,2]`, ``, "list: decode reply", ""},
		{"another id", `{"id":2,"result":[1]}`, `[1]`, "", ""},
	}
	for _, tt := range tests {
		for _, cut := range []struct{ chunk, size int }{{1 << 20, 64 << 10}, {1, 16}, {7, 16}, {3, 17}} {
			t.Run(tt.name, func(t *testing.T) {
				c := replyOnce(t, tt.reply+"\n", cut.chunk, cut.size)
				var out bytes.Buffer
				n, err := c.CopyResult(context.Background(), api.MethodList, nil, &out)
				switch {
				case tt.wantErr == "" && err != nil:
					t.Fatalf("cut %v: error %v", cut, err)
				case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
					t.Fatalf("cut %v: error %v, want one containing %q", cut, err, tt.wantErr)
				}
				if tt.code != "" {
					var ae *api.Error
					if !errors.As(err, &ae) || ae.Code != tt.code {
						t.Errorf("error %#v, want an *api.Error with code %q", err, tt.code)
					}
				}
				if tt.wantErr != "" {
					return
				}
				if out.String() != tt.want || n != int64(len(tt.want)) {
					t.Errorf("cut %v: wrote %d bytes %q, want %q", cut, n, out.String(), tt.want)
				}
				// The same bytes as Call's raw result.
				c = replyOnce(t, tt.reply+"\n", cut.chunk, cut.size)
				var raw json.RawMessage
				if err := c.Call(context.Background(), api.MethodList, nil, &raw); err != nil {
					t.Fatal(err)
				}
				if string(raw) != "null" && string(raw) != out.String() {
					t.Errorf("cut %v: Call's raw result %s, CopyResult's %s", cut, raw, out.String())
				}
			})
		}
	}
}

// A writer that fails ends the call with its error, marked errWrite.
func TestCopyResultWriteError(t *testing.T) {
	c := replyOnce(t, `{"id":1,"result":[`+strings.Repeat(`1,`, 100<<10)+`1]}`+"\n", 1<<20, 64<<10)
	_, err := c.CopyResult(context.Background(), api.MethodList, nil, failWriter{})
	if !errors.Is(err, errWrite) || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("error %v, want errWrite with the writer's", err)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }
