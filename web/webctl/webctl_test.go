package webctl

import (
	"strings"
	"testing"
)

func TestCheckAddr(t *testing.T) {
	tests := []struct {
		addr        string
		public, tls bool
		warn, err   string // substrings; "" means none
	}{
		{addr: "127.0.0.1:9615"},
		{addr: "localhost:1"},
		{addr: "[::1]:9615"},
		{addr: "unix:/run/x.sock"},
		{addr: "unix:rel.sock", err: "must be absolute"},
		{addr: "127.0.0.1", err: "host:port"},
		{addr: "127.0.0.1:", err: "no port"},
		{addr: "example.com:80", public: true, err: "IP address or localhost"},
		{addr: ":9615", err: "not loopback"},
		{addr: "0.0.0.0:9615", err: "--public"},
		{addr: "0.0.0.0:9615", public: true, warn: "clear text"},
		{addr: "10.0.0.1:443", public: true, tls: true},
	}
	for _, tt := range tests {
		warn, err := CheckAddr(tt.addr, tt.public, tt.tls)
		if (err != nil) != (tt.err != "") || err != nil && !strings.Contains(err.Error(), tt.err) {
			t.Errorf("CheckAddr(%q, %v, %v) error = %v, want %q", tt.addr, tt.public, tt.tls, err, tt.err)
		}
		if (warn != "") != (tt.warn != "") || !strings.Contains(warn, tt.warn) {
			t.Errorf("CheckAddr(%q, %v, %v) warning = %q, want %q", tt.addr, tt.public, tt.tls, warn, tt.warn)
		}
	}
}
