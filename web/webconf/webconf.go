// Package webconf is the HTTP API's files in GPM_HOME: its setting (web.json), its token, its TLS pair. The daemon
// reads and writes them whether or not its program has the HTTP server (gpmd is built without it, gpmd-web with
// it: docs/ARCHITECTURE.md), and gpmd reads the setting to decide which program runs the daemon. It links none of
// net/http and crypto/tls.
package webconf

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/gpmd/gpm/service/dump"
	"github.com/gpmd/gpm/web/webctl"
)

// Files of the API in GPM_HOME.
const (
	ConfigName = "web.json"
	CertName   = "web.crt"
	KeyName    = "web.key"
	// TokenName is the token file: 32 random bytes in hex and a newline, mode 0600.
	TokenName = "web.token"
)

// Load reads home's setting, or its .bak when web.json is unreadable (then bakErr says why web.json was not used);
// a missing file is the API off.
func Load(home string) (cfg webctl.Config, bakErr, err error) {
	path := filepath.Join(home, ConfigName)
	read := func(path string) (webctl.Config, error) {
		var cfg webctl.Config
		b, err := os.ReadFile(path)
		if err != nil {
			return cfg, err
		}
		if err := json.Unmarshal(b, &cfg); err != nil {
			return cfg, fmt.Errorf("%s: %w", path, err)
		}
		return cfg, nil
	}
	cfg, err = read(path)
	if err == nil || errors.Is(err, fs.ErrNotExist) {
		return cfg, nil, nil
	}
	bak, berr := read(path + ".bak")
	if berr != nil {
		return webctl.Config{}, nil, fmt.Errorf("read setting: %w", err)
	}
	return bak, err, nil
}

// Save writes home's setting atomically, keeping the previous good file as web.json.bak (as settings.json).
func Save(home string, cfg webctl.Config) error {
	path := filepath.Join(home, ConfigName)
	data, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return fmt.Errorf("web: encode setting: %w", err)
	}
	if old, err := os.ReadFile(path); err == nil && json.Valid(old) {
		if err := dump.WriteFile(path+".bak", old); err != nil {
			return fmt.Errorf("web: save setting: backup: %w", err)
		}
	}
	if err := dump.WriteFile(path, append(data, '\n')); err != nil {
		return fmt.Errorf("web: save setting: %w", err)
	}
	return nil
}

// URL is the base URL of addr ("" for a unix socket, which browsers cannot open).
func URL(addr string, tls bool) string {
	if strings.HasPrefix(addr, webctl.UnixPrefix) {
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
