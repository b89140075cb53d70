//go:build !gpmthin

package main

import (
	"fmt"
	"os"
)

// This is gpm's whole program (gpmd when installed beside the thin CLI, thin.go): it runs every command itself.

// handOff is the thin CLI's; the whole program has nothing to hand off.
func handOff(name string, args []string) error { return nil }

// daemonExe is the program a CLI call runs as `PROGRAM daemon` when no daemon answers: this one.
func daemonExe() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("find gpm binary: %w", err)
	}
	return exe, nil
}
