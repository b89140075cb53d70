package service

import (
	"os"
	"syscall"
)

// Go maps console close, logoff and shutdown to SIGTERM on Windows: they stop the apps gracefully too.
var (
	stopSignals   = []os.Signal{os.Interrupt, syscall.SIGTERM}
	reopenSignals = []os.Signal{}
)
