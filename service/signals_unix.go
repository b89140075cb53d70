//go:build unix

package service

import (
	"os"
	"syscall"
)

// stopSignals end the daemon (after stopping every app); reopenSignals reopen the log files, as PM2 does on SIGUSR2.
var (
	stopSignals   = []os.Signal{syscall.SIGTERM, syscall.SIGINT}
	reopenSignals = []os.Signal{syscall.SIGUSR2, syscall.SIGHUP}
)
