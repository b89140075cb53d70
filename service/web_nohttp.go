//go:build gpmnoweb

package service

import (
	"encoding/pem"
	"errors"

	"github.com/gpmd/gpm/web/webctl"
)

// gpmd is built without the HTTP server (tag gpmnoweb): net/http, crypto/tls and the dashboard are 3.6 MB of its
// binary and, measured, 2.2 MB of a daemon's RSS with 50 apps even while the API is off (the runtime's stack scans
// and the package initialisers touch pages all over a larger binary). The "web" method still keeps the setting;
// cmd/gpm runs the daemon on gpmd-web when the setting says on.
const httpBuilt = false

func addHTTPMethods() {}

func startServer(*webControl, string) (webServer, func(), error) { return nil, nil, errNoHTTP }

// checkTLS checks what it can without crypto/tls: that each is one PEM block of the right kind, within its bound.
// gpmd-web checks the pair when it starts the server, and says so in its log when it does not load.
func checkTLS(certPEM, keyPEM string) error {
	if err := webctl.CheckPEMSize(certPEM, keyPEM); err != nil {
		return err
	}
	cert, _ := pem.Decode([]byte(certPEM))
	if cert == nil || cert.Type != "CERTIFICATE" {
		return errors.New("web: --cert: no PEM CERTIFICATE block")
	}
	key, _ := pem.Decode([]byte(keyPEM))
	if key == nil || (key.Type != "PRIVATE KEY" && key.Type != "RSA PRIVATE KEY" && key.Type != "EC PRIVATE KEY") {
		return errors.New("web: --key: no PEM PRIVATE KEY block")
	}
	return nil
}
