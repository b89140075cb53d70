package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"testing"

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
