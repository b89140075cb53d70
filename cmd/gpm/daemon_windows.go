//go:build windows

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/gpmd/gpm/api"
	"github.com/gpmd/gpm/service"
	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/svc"
)

// Under the service control manager (gpm startup windows), `gpm daemon` must answer the SCM: report that it runs,
// take Stop and Shutdown, and report that it stopped, or the SCM gives up on it after 30 s (error 1053) and never
// sends it a stop. A daemon started any other way (a console, the CLI) runs as it does everywhere.

// stopTimeout bounds how long a Stop from the SCM waits for the daemon to stop its apps and exit, so that the SCM
// sees the service stop rather than hang.
const stopTimeout = 30 * time.Second

// asService is set by init when this process is `gpm daemon` started by the SCM.
var asService bool

// init prepares a service's process before main builds the cli from os.Stderr and the working directory: the
// SCM starts services in %SystemRoot%\system32 with no stderr. The daemon then works in GPM_HOME and its log (what
// it writes to stderr, and a crash) goes to GPM_HOME\gpm.log, where a daemon that the CLI starts logs too.
func init() {
	if !daemonCommand(os.Args[1:]) {
		return
	}
	if is, err := svc.IsWindowsService(); err != nil || !is {
		return
	}
	asService = true
	ignoreLogoff()
	home, err := api.Home()
	if err != nil {
		return // run reports it
	}
	if err := os.MkdirAll(home, 0o700); err != nil {
		return // so does the daemon
	}
	_ = os.Chdir(home)
	f, err := os.OpenFile(filepath.Join(home, api.DaemonLog), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return
	}
	os.Stdout, os.Stderr = f, f
	_ = debug.SetCrashOutput(f, debug.CrashOptions{})
}

// daemonCommand reports whether args (without the program name) run `gpm [--system] daemon`.
func daemonCommand(args []string) bool {
	for len(args) > 0 && args[0] == "--system" {
		args = args[1:]
	}
	return len(args) > 0 && args[0] == "daemon"
}

var procSetConsoleCtrlHandler = windows.NewLazySystemDLL("kernel32.dll").NewProc("SetConsoleCtrlHandler")

// ignoreLogoff keeps the service alive when a user logs off. Windows sends CTRL_LOGOFF_EVENT to every service
// then, and Go turns it into SIGTERM, on which the daemon stops every app (golang/go#40167). A handler registered
// after Go's runs first and swallows it; the SCM's Stop and Shutdown, handled below, are what stop a service.
// CTRL_C is swallowed too: a daemon the CLI starts is in a process group of its own, which ignores CTRL_C, and an
// app that sends CTRL_C to the whole console must not stop the service's daemon either.
func ignoreLogoff() {
	h := syscall.NewCallback(func(ctrl uint32) uintptr {
		if ctrl == windows.CTRL_LOGOFF_EVENT || ctrl == windows.CTRL_C_EVENT {
			return 1
		}
		return 0
	})
	procSetConsoleCtrlHandler.Call(h, 1)
}

// runDaemon runs d: under the SCM through a service handler (see scmHandler), otherwise directly.
func runDaemon(ctx context.Context, d *service.Daemon) error {
	if !asService {
		return d.Run(ctx)
	}
	h := &scmHandler{ctx: ctx, run: d.Run, stopTimeout: stopTimeout}
	// The name is ignored for a service of its own process (SERVICE_WIN32_OWN_PROCESS, what gpm startup makes).
	if err := svc.Run("", h); err != nil {
		return fmt.Errorf("daemon: service control manager: %w", err)
	}
	return h.err
}

// scmHandler is the daemon as a Windows service. Execute reports Running once the daemon is started, stops it on
// Stop, Shutdown and PreShutdown (bounded by stopTimeout), and reports Stopped when it has returned, also when it
// returns on its own (gpm kill, a fatal error). A clean exit reports exit code 0, so the SCM leaves the service
// stopped, as Restart=on-failure does; an error reports a service-specific code, which triggers the recovery
// actions (gpm startup sets them for such non-crash failures too).
//
// It implements golang.org/x/sys/windows/svc.Handler itself rather than going through kardianos/service's Run,
// whose Execute returns only on the SCM's Stop or Shutdown: a daemon that exits on its own would leave a service
// that says Running, or an exit the SCM counts as a crash and restarts (a `gpm kill` undone a second later).
type scmHandler struct {
	ctx         context.Context
	run         func(context.Context) error
	stopTimeout time.Duration
	// err is what run returned, or why the stop gave up.
	err error
}

// Execute implements svc.Handler.
func (h *scmHandler) Execute(_ []string, req <-chan svc.ChangeRequest, status chan<- svc.Status) (bool, uint32) {
	const accepts = svc.AcceptStop | svc.AcceptShutdown | svc.AcceptPreShutdown
	status <- svc.Status{State: svc.StartPending}
	ctx, cancel := context.WithCancel(h.ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- h.run(ctx) }()
	status <- svc.Status{State: svc.Running, Accepts: accepts}
	for {
		select {
		case err := <-done:
			return h.exit(err)
		case c := <-req:
			switch c.Cmd {
			case svc.Interrogate:
				status <- c.CurrentStatus
			case svc.Stop, svc.Shutdown, svc.PreShutdown:
				return h.stop(cancel, done, status)
			}
		}
	}
}

// stop ends the daemon's context and waits for it to stop its apps and return, telling the SCM it is making
// progress (a checkpoint a second), for at most stopTimeout.
func (h *scmHandler) stop(cancel context.CancelFunc, done <-chan error, status chan<- svc.Status) (bool, uint32) {
	hint := uint32(h.stopTimeout / time.Millisecond)
	status <- svc.Status{State: svc.StopPending, WaitHint: hint}
	cancel()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	deadline := time.NewTimer(h.stopTimeout)
	defer deadline.Stop()
	for check := uint32(1); ; check++ {
		select {
		case err := <-done:
			return h.exit(err)
		case <-tick.C:
			status <- svc.Status{State: svc.StopPending, CheckPoint: check, WaitHint: hint}
		case <-deadline.C:
			h.err = fmt.Errorf("daemon: did not stop within %s of the service control manager's stop", h.stopTimeout)
			return true, 1
		}
	}
}

// exit turns the daemon's result into the service's exit code: 0, or service-specific 1 for an error (which main
// writes to the log when runDaemon returns it).
func (h *scmHandler) exit(err error) (bool, uint32) {
	h.err = err
	if err != nil {
		return true, 1
	}
	return false, 0
}
