//go:build !unix

package web

import (
	"fmt"
	"net"
)

// listenUnix is refused outside unix: the directory checks that make a socket path safe are unix's.
func listenUnix(path string) (net.Listener, error) {
	return nil, fmt.Errorf("web: unix socket %s: not supported on this system", path)
}
