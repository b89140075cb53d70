package client

import (
	"context"
	"errors"

	"github.com/gpmd/gpm/api"
	"github.com/gpmd/gpm/config"
)

// Ping checks that the daemon answers.
func (c *Client) Ping(ctx context.Context) error { return c.Call(ctx, api.MethodPing, nil, nil) }

// Version returns the daemon's version, pid and home.
func (c *Client) Version(ctx context.Context) (api.VersionInfo, error) {
	var v api.VersionInfo
	err := c.Call(ctx, api.MethodVersion, nil, &v)
	return v, err
}

// List returns every process, ordered by id.
func (c *Client) List(ctx context.Context) ([]api.Process, error) {
	var out []api.Process
	err := c.Call(ctx, api.MethodList, nil, &out)
	return out, err
}

// Start starts apps (an existing name is restarted with the new configuration) with this program's environment as
// their caller environment.
func (c *Client) Start(ctx context.Context, apps ...config.App) ([]api.Process, error) {
	p := api.StartParams{CallerEnv: callerEnv()}
	for _, a := range apps {
		p.Apps = append(p.Apps, api.StartApp{App: a})
	}
	return c.StartWith(ctx, p)
}

// StartWith is Start with every parameter explicit.
func (c *Client) StartWith(ctx context.Context, p api.StartParams) ([]api.Process, error) {
	var out []api.Process
	err := c.Call(ctx, api.MethodStart, p, &out)
	return out, err
}

func (c *Client) targets(ctx context.Context, method string, targets []string) ([]api.Process, error) {
	var out []api.Process
	err := c.Call(ctx, method, api.Targets{Targets: targets}, &out)
	return out, err
}

// Stop stops the targets (ids, names, namespaces or "all") and returns once they are down.
func (c *Client) Stop(ctx context.Context, targets ...string) ([]api.Process, error) {
	return c.targets(ctx, api.MethodStop, targets)
}

// Delete stops the targets and removes them from the list.
func (c *Client) Delete(ctx context.Context, targets ...string) ([]api.Process, error) {
	return c.targets(ctx, api.MethodDelete, targets)
}

// Reset zeroes the restart counters of the targets.
func (c *Client) Reset(ctx context.Context, targets ...string) ([]api.Process, error) {
	return c.targets(ctx, api.MethodReset, targets)
}

// Restart restarts the targets. With updateEnv they take this program's environment.
func (c *Client) Restart(ctx context.Context, updateEnv bool, targets ...string) ([]api.Process, error) {
	p := api.RestartParams{Targets: targets, UpdateEnv: updateEnv}
	if updateEnv {
		p.CallerEnv = callerEnv()
	}
	var out []api.Process
	err := c.Call(ctx, api.MethodRestart, p, &out)
	return out, err
}

// Scale sets (or, relative, changes) the instance count of app name.
func (c *Client) Scale(ctx context.Context, name string, n int, relative bool) ([]api.Process, error) {
	var out []api.Process
	err := c.Call(ctx, api.MethodScale, api.ScaleParams{Name: name, Count: n, Relative: relative}, &out)
	return out, err
}

// Signal sends sig to the targets' processes.
func (c *Client) Signal(ctx context.Context, sig string, targets ...string) ([]api.Process, error) {
	var out []api.Process
	err := c.Call(ctx, api.MethodSignal, api.SignalParams{Signal: sig, Targets: targets}, &out)
	return out, err
}

// Send writes line and a newline to the standard input of the targets' processes (api.SendParams), and returns
// them.
func (c *Client) Send(ctx context.Context, line string, targets ...string) ([]api.Process, error) {
	var out []api.Process
	err := c.Call(ctx, api.MethodSend, api.SendParams{Targets: targets, Line: line}, &out)
	return out, err
}

// Env returns the environment of each target process, keyed by id.
func (c *Client) Env(ctx context.Context, targets ...string) (map[string]map[string]string, error) {
	var out map[string]map[string]string
	err := c.Call(ctx, api.MethodEnv, api.Targets{Targets: targets}, &out)
	return out, err
}

// Save writes the process list to the dump; force allows an empty list.
func (c *Client) Save(ctx context.Context, force bool) (api.SaveResult, error) {
	var out api.SaveResult
	err := c.Call(ctx, api.MethodSave, api.SaveParams{Force: force}, &out)
	return out, err
}

// Resurrect starts the saved list, with this program's environment.
func (c *Client) Resurrect(ctx context.Context) (api.ResurrectResult, error) {
	var out api.ResurrectResult
	err := c.Call(ctx, api.MethodResurrect, api.StartParams{CallerEnv: callerEnv()}, &out)
	return out, err
}

// ClearDump empties the saved list.
func (c *Client) ClearDump(ctx context.Context) error {
	return c.Call(ctx, api.MethodClearDump, nil, nil)
}

// Flush empties the log files of the targets (all when none) and returns their paths.
func (c *Client) Flush(ctx context.Context, targets ...string) ([]string, error) {
	var out []string
	err := c.Call(ctx, api.MethodFlush, api.Targets{Targets: targets}, &out)
	return out, err
}

// ReloadLogs reopens every log file.
func (c *Client) ReloadLogs(ctx context.Context) error {
	return c.Call(ctx, api.MethodReloadLogs, nil, nil)
}

// Kill stops every app, then the daemon, and returns once the daemon has let go of its home (so a daemon started
// right after finds it free). The dump is left alone.
//
// Two kills at once both succeed: the daemon answers both, or, when it was already exiting (the other kill, a
// SIGTERM), it closes its socket with this request unread, and Kill returns once the daemon is gone.
func (c *Client) Kill(ctx context.Context) error {
	err := c.Call(ctx, api.MethodKill, nil, nil)
	var ae *api.Error
	if err != nil && !errors.As(err, &ae) && !errors.Is(err, ErrNoAnswer) && ctx.Err() == nil {
		if c.waitGone(ctx) == nil {
			return nil
		}
		return err
	}
	if err != nil {
		return err
	}
	return c.waitClosed(ctx)
}

// Logs streams the last lines of the targets' logs, then live lines unless p.NoStream.
func (c *Client) Logs(ctx context.Context, p api.LogsParams, fn func(api.Event) error) error {
	return c.Stream(ctx, api.MethodLogs, p, fn)
}

// Subscribe streams state changes and log lines of the targets (all when none).
func (c *Client) Subscribe(ctx context.Context, targets []string, fn func(api.Event) error) error {
	return c.Stream(ctx, api.MethodSubscribe, api.LogsParams{Targets: targets}, fn)
}

// Reload replaces the targets' workers without downtime, parallel at a time (0 = 1). The first worker that fails to
// become ready halts it with an error naming the worker; the old workers keep serving.
func (c *Client) Reload(ctx context.Context, parallel int, updateEnv bool, targets ...string) ([]api.Process, error) {
	p := api.ReloadParams{Targets: targets, Parallel: parallel, UpdateEnv: updateEnv}
	if updateEnv {
		p.CallerEnv = callerEnv()
	}
	var out []api.Process
	err := c.Call(ctx, api.MethodReload, p, &out)
	return out, err
}

// Set stores key = value in the daemon's settings (`gpm set`) and returns them as stored.
func (c *Client) Set(ctx context.Context, key, value string) (map[string]string, error) {
	var out map[string]string
	err := c.Call(ctx, api.MethodSet, api.SetParams{Key: key, Value: value}, &out)
	return out, err
}

// Get returns the setting key, or every setting when key is "".
func (c *Client) Get(ctx context.Context, key string) (map[string]string, error) {
	var out map[string]string
	err := c.Call(ctx, api.MethodGet, api.GetParams{Key: key}, &out)
	return out, err
}

// Unset removes the setting key.
func (c *Client) Unset(ctx context.Context, key string) error {
	return c.Call(ctx, api.MethodUnset, api.GetParams{Key: key}, nil)
}
