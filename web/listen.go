package web

import (
	"crypto/tls"
	"fmt"
	"net"
	"path/filepath"
	"strings"

	"github.com/gpmd/gpm/web/webconf"
	"github.com/gpmd/gpm/web/webctl"
)

// DaemonStats are the daemon's figures for /metrics that no other operation tells (in MetricsSnapshot). The daemon counts neither its control requests nor the events it dropped over
// all subscribers, so these are gauges of what it holds now.
type DaemonStats struct {
	ControlConnections int64 `json:"control_connections"` // open connections of the control socket
	Subscribers        int64 `json:"subscribers"`         // event subscribers (gpm logs, the API's own, ...)
	QueuedEventBytes   int64 `json:"queued_event_bytes"`  // bytes of events queued for all subscribers
}

// Listen listens on addr (checked with webctl.CheckAddr first). A unix socket is made 0600, in a directory that must be
// the daemon's user's own and writable by it alone (the path comes from a client and is treated as hostile:
// platform/safefs walks to it).
func Listen(addr string) (net.Listener, error) {
	if path, ok := strings.CutPrefix(addr, webctl.UnixPrefix); ok {
		return listenUnix(path)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("web: listen: %w", err)
	}
	return ln, nil
}

// LoadTLS reads the certificate and key that `gpm web --cert --key` copied into home.
func LoadTLS(home string) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(filepath.Join(home, webconf.CertName), filepath.Join(home, webconf.KeyName))
	if err != nil {
		return nil, fmt.Errorf("web: TLS: %w", err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

// CheckTLS checks that certPEM and keyPEM make a pair, before they are saved.
func CheckTLS(certPEM, keyPEM string) error {
	if err := webctl.CheckPEMSize(certPEM, keyPEM); err != nil {
		return err
	}
	if _, err := tls.X509KeyPair([]byte(certPEM), []byte(keyPEM)); err != nil {
		return fmt.Errorf("web: --cert and --key: %w", err)
	}
	return nil
}
