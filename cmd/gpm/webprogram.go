//go:build gpmnoweb && unix

package main

import (
	"fmt"
	"os"
	"syscall"

	"github.com/gpmd/gpm/web/webconf"
)

// This program is gpmd built without the HTTP server (tag gpmnoweb; service/web_nohttp.go says why). A daemon
// (gpm daemon, gpm run, start --no-daemon) whose home has the API on runs on gpmd-web, the same program with it:
// exec'd here, before anything starts, with the same arguments and environment. When gpmd-web is not there, or
// the setting cannot be read, this program goes on and the daemon's log says the API is off and why.
func execWebProgram(home string) {
	cfg, _, err := webconf.Load(home)
	if err != nil || !cfg.On {
		return
	}
	path, _ := programPath("gpmd-web")
	if path == "" {
		return
	}
	argv := append([]string{path}, os.Args[1:]...)
	err = syscall.Exec(path, argv, os.Environ())
	fmt.Fprintf(os.Stderr, "gpm: exec %s: %v; the HTTP API stays off\n", path, err)
}
