package api

import (
	"fmt"
	"os"
	"path/filepath"
)

// Home returns GPM_HOME, or ~/.gpm when it is unset, as an absolute path.
func Home() (string, error) {
	if h := os.Getenv(HomeEnv); h != "" {
		abs, err := filepath.Abs(h)
		if err != nil {
			return "", fmt.Errorf("%s: %w", HomeEnv, err)
		}
		return abs, nil
	}
	u, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("no %s and no home directory: %w", HomeEnv, err)
	}
	return filepath.Join(u, DefaultHomeD), nil
}

// SocketPath is the control socket of the daemon that owns home.
func SocketPath(home string) string { return filepath.Join(home, SocketName) }
