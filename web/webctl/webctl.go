// Package webctl is the HTTP API's control as the CLI sees it: the "web" method of the control socket (Params,
// Status), the setting the daemon keeps (Config) and the check of an address. It is apart from package web so that
// the CLI links none of net/http and crypto/tls, which the server needs (and which cost every CLI call their
// package initialisation).
package webctl

import (
	"fmt"
	"net"
	"path/filepath"
	"strings"
)

// DefaultAddr is where `gpm web` listens when no address is given (PM2's port).
const DefaultAddr = "127.0.0.1:9615"

// UnixPrefix marks a unix socket address: unix:/abs/path.
const UnixPrefix = "unix:"

// Config is the API's setting, kept in GPM_HOME/web.json (web.ConfigName) across daemon restarts.
type Config struct {
	On     bool   `json:"on"`
	Addr   string `json:"addr"`
	Public bool   `json:"public,omitempty"`
	// TLS: serve TLS with GPM_HOME/web.crt and web.key (web.CertName, web.KeyName), copied there by `gpm web --cert --key`.
	TLS bool `json:"tls,omitempty"`
}

// Method is the control method that turns the API on and off ("web"); its parameters are Params, its result Status.
const Method = "web"

// MaxPEM bounds each of Params.CertPEM and Params.KeyPEM.
const MaxPEM = 256 << 10

// CheckPEMSize refuses a certificate or key over MaxPEM: the one bound both daemon programs apply before they
// look at the PEM itself.
func CheckPEMSize(certPEM, keyPEM string) error {
	if len(certPEM) > MaxPEM || len(keyPEM) > MaxPEM {
		return fmt.Errorf("web: --cert or --key over the limit of %d bytes (webctl.MaxPEM)", MaxPEM)
	}
	return nil
}

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
	// Restart: on in the setting, but the daemon runs gpmd, which is built without the HTTP server: the API serves
	// once the daemon restarts, on gpmd-web (`gpm update`, or a restart of its service).
	Restart bool `json:"restart,omitempty"`
	// Serving: the server runs now.
	Serving bool `json:"serving,omitempty"`
}

// CheckAddr checks addr as `gpm web ADDR` takes it: host:port with an IP address or localhost (an empty host is
// every interface), or unix:/absolute/path. An address that is not loopback is refused unless public; the warning
// says what a public address without TLS means.
func CheckAddr(addr string, public, tls bool) (warning string, err error) {
	if path, ok := strings.CutPrefix(addr, UnixPrefix); ok {
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
