//go:build unix

package main

import (
	"fmt"
	"syscall"
)

// runMonit replaces gpm with the console, which gets the terminal, the signals and the exit code as they are.
func runMonit(bin string, env []string) error {
	if err := syscall.Exec(bin, []string{bin}, env); err != nil {
		return fmt.Errorf("exec %s: %w", bin, err)
	}
	return nil
}
