package client

import (
	"context"

	"github.com/gpmd/gpm/api"
)

// ModuleStart starts the module installed under GPM_HOME/modules/name (or restarts it with its current settings).
func (c *Client) ModuleStart(ctx context.Context, name string) ([]api.Process, error) {
	var out []api.Process
	err := c.Call(ctx, api.MethodModuleStart, api.ModuleParams{Name: name}, &out)
	return out, err
}

// Modules lists the installed modules.
func (c *Client) Modules(ctx context.Context) ([]api.Module, error) {
	var out []api.Module
	err := c.Call(ctx, api.MethodModuleList, nil, &out)
	return out, err
}

// ModuleUninstall deletes module name: its processes, files and settings.
func (c *Client) ModuleUninstall(ctx context.Context, name string) error {
	return c.Call(ctx, api.MethodModuleUninstall, api.ModuleParams{Name: name}, nil)
}

// Trigger runs action (with arg, if not "") on each process of targets and returns their answers.
func (c *Client) Trigger(ctx context.Context, action, arg string, targets ...string) ([]api.TriggerResult, error) {
	var out []api.TriggerResult
	err := c.Call(ctx, api.MethodTrigger, api.TriggerParams{Targets: targets, Action: action, Arg: arg}, &out)
	return out, err
}
