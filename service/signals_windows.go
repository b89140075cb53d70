package service

import "os"

var (
	stopSignals   = []os.Signal{os.Interrupt}
	reopenSignals = []os.Signal{}
)
