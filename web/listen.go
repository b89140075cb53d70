package web

import (
	"crypto/tls"
	"fmt"
	"net"
	"path/filepath"
	"strings"
)

// DefaultAddr is where `gpm web` listens when no address is given (PM2's port).
const DefaultAddr = "127.0.0.1:9615"

// unixPrefix marks a unix socket address: unix:/abs/path.
const unixPrefix = "unix:"

// Config is the API's setting, kept in GPM_HOME/web.json (ConfigName) across daemon restarts.
type Config struct {
	On     bool   `json:"on"`
	Addr   string `json:"addr"`
	Public bool   `json:"public,omitempty"`
	// TLS: serve TLS with GPM_HOME/web.crt and web.key (CertName, KeyName), copied there by `gpm web --cert --key`.
	TLS bool `json:"tls,omitempty"`
}

// Files of the API in GPM_HOME.
const (
	ConfigName = "web.json"
	CertName   = "web.crt"
	KeyName    = "web.key"
)

// Method is the control method that turns the API on and off ("web"); its parameters are Params, its result Status.
const Method = "web"

// StatsMethod is a read-only control method for /metrics: the daemon's figures that no other operation tells
// (DaemonStats). It is served by service/web.go; a daemon without it leaves them out.
const StatsMethod = "webStats"

// DaemonStats answers StatsMethod. The daemon counts neither its control requests nor the events it dropped over
// all subscribers, so these are gauges of what it holds now.
type DaemonStats struct {
	ControlConnections int64 `json:"control_connections"` // open connections of the control socket
	Subscribers        int64 `json:"subscribers"`         // event subscribers (gpm logs, the API's own, ...)
	QueuedEventBytes   int64 `json:"queued_event_bytes"`  // bytes of events queued for all subscribers
}

// MaxPEM bounds each of Params.CertPEM and Params.KeyPEM.
const MaxPEM = 256 << 10

// Params of Method. All zero: turn the API on with the saved address (DefaultAddr the first time), or report it if
// it is on. Addr (host:port or unix:/path) changes the address; a non-loopback one needs Public. CertPEM and
// KeyPEM (read by the CLI from --cert and --key, as the calling user) turn TLS on. Off turns the API off;
// RotateToken makes a new token (and may come with the others); Status only reports.
type Params struct {
	Addr        string `json:"addr,omitempty"`
	Public      bool   `json:"public,omitempty"`
	CertPEM     string `json:"cert_pem,omitempty"`
	KeyPEM      string `json:"key_pem,omitempty"`
	Off         bool   `json:"off,omitempty"`
	RotateToken bool   `json:"rotate_token,omitempty"`
	Status      bool   `json:"status,omitempty"`
}

// Status answers Method: the setting, where the token is and the token itself (whoever may call the control socket
// may drive the daemon anyway), a URL and a link that carries the token in its fragment (which browsers never send
// to the server), and a Warning to show (the token in clear text on a public address).
type Status struct {
	Config
	URL       string `json:"url,omitempty"`
	Link      string `json:"link,omitempty"`
	TokenPath string `json:"token_path"`
	Token     string `json:"token,omitempty"`
	Warning   string `json:"warning,omitempty"`
}

// CheckAddr checks addr as `gpm web ADDR` takes it: host:port with an IP address or localhost (an empty host is
// every interface), or unix:/absolute/path. An address that is not loopback is refused unless public; the warning
// says what a public address without TLS means.
func CheckAddr(addr string, public, tls bool) (warning string, err error) {
	if path, ok := strings.CutPrefix(addr, unixPrefix); ok {
		if !filepath.IsAbs(path) {
			return "", fmt.Errorf("web address %q: the socket path must be absolute", addr)
		}
		return "", nil
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("web address %q: %w (host:port, or unix:/path)", addr, err)
	}
	if port == "" {
		return "", fmt.Errorf("web address %q: no port", addr)
	}
	loopback := strings.EqualFold(host, "localhost")
	if !loopback {
		if host != "" && net.ParseIP(host) == nil {
			return "", fmt.Errorf("web address %q: the host must be an IP address or localhost (a name could resolve elsewhere)", addr)
		}
		loopback = host != "" && net.ParseIP(host).IsLoopback()
	}
	if loopback {
		return "", nil
	}
	if !public {
		return "", fmt.Errorf("web address %q is not loopback: anyone who reaches it could try the API; give --public to mean it (with --cert and --key for TLS)", addr)
	}
	if !tls {
		return fmt.Sprintf("the API at %s is public without TLS: the token travels in clear text, and anyone on the path can read it and drive the daemon; give --cert and --key", addr), nil
	}
	return "", nil
}

// Listen listens on addr (checked with CheckAddr first). A unix socket is made 0600, in a directory that must be
// the daemon's user's own and writable by it alone (the path comes from a client and is treated as hostile:
// platform/safefs walks to it).
func Listen(addr string) (net.Listener, error) {
	if path, ok := strings.CutPrefix(addr, unixPrefix); ok {
		return listenUnix(path)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("web: listen: %w", err)
	}
	return ln, nil
}

// URL is the base URL of addr ("" for a unix socket, which browsers cannot open).
func URL(addr string, tls bool) string {
	if strings.HasPrefix(addr, unixPrefix) {
		return ""
	}
	host, port, _ := net.SplitHostPort(addr)
	if host == "" || net.ParseIP(host) != nil && net.ParseIP(host).IsUnspecified() {
		host = "127.0.0.1"
	}
	scheme := "http"
	if tls {
		scheme = "https"
	}
	return scheme + "://" + net.JoinHostPort(host, port) + "/"
}

// LoadTLS reads the certificate and key that `gpm web --cert --key` copied into home.
func LoadTLS(home string) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(filepath.Join(home, CertName), filepath.Join(home, KeyName))
	if err != nil {
		return nil, fmt.Errorf("web: TLS: %w", err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

// CheckTLS checks that certPEM and keyPEM make a pair, before they are saved.
func CheckTLS(certPEM, keyPEM string) error {
	if len(certPEM) > MaxPEM || len(keyPEM) > MaxPEM {
		return fmt.Errorf("web: --cert or --key over the limit of %d bytes (web.MaxPEM)", MaxPEM)
	}
	if _, err := tls.X509KeyPair([]byte(certPEM), []byte(keyPEM)); err != nil {
		return fmt.Errorf("web: --cert and --key: %w", err)
	}
	return nil
}
