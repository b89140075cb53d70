package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"regexp"
	"sync"
	"syscall"

	"github.com/gpmd/gpm/api"
)

// PluginPrefix names plugins: `gpm foo ARGS` runs the executable gpm-foo found in PATH when foo is not a built-in
// command, as git and kubectl do.
const PluginPrefix = "gpm-"

// pluginName is what a plugin's command may be: a word, never an option nor a path. Compiled on first use (an
// unknown command), not in the package initialisation every CLI call runs.
var pluginName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`) })

// runPlugin runs the plugin for command name with args, with GPM_HOME and GPM_SOCKET in its environment, and
// returns its exit code (128+N when signal N ended it). found is false when there is no such plugin.
func runPlugin(name string, args []string, stdin io.Reader, stdout, stderr io.Writer) (code int, found bool) {
	if !pluginName().MatchString(name) {
		return 0, false
	}
	path, err := exec.LookPath(PluginPrefix + name)
	if err != nil {
		return 0, false
	}
	home, err := api.Home()
	if err != nil {
		fmt.Fprintf(stderr, "gpm: %v\n", err)
		return 1, true
	}
	cmd := exec.Command(path, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, stderr
	cmd.Env = append(os.Environ(), api.HomeEnv+"="+home, api.SocketEnv+"="+api.SocketPath(home))
	// The plugin owns the terminal while it runs: Ctrl+C reaches it (same process group) and it decides; a SIGTERM
	// sent to gpm alone is passed on rather than leaving the plugin behind.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(stderr, "gpm: plugin %s: %v\n", path, err)
		return 127, true
	}
	done := make(chan struct{})
	go func() {
		for {
			select {
			case s := <-sigs:
				if s != os.Interrupt {
					cmd.Process.Signal(s)
				}
			case <-done:
				return
			}
		}
	}()
	err = cmd.Wait()
	close(done)
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal()), true
		}
		return ee.ExitCode(), true
	}
	if err != nil {
		fmt.Fprintf(stderr, "gpm: plugin %s: %v\n", path, err)
		return 1, true
	}
	return 0, true
}
