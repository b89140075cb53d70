package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/gpmd/gpm/api"
	"github.com/gpmd/gpm/service/module"
	"github.com/gpmd/gpm/service/settings"
)

// Modules (docs/MODULES.md): the CLI copies a module into GPM_HOME/modules/<name>; the daemon starts it as an app
// of namespace "modules" through its own start operation, and starts it again whenever `gpm set/unset NAME:KEY`
// changes its settings, so that GPM_MODULE_CONFIG is the app's env as save writes it and resurrect brings back.

func init() {
	addMethod(api.MethodModuleStart, func(ctx context.Context, d *Daemon, params json.RawMessage) (any, error) {
		p, err := decode[api.ModuleParams](params)
		if err != nil {
			return nil, err
		}
		return d.startModule(ctx, p.Name)
	})
	addMethod(api.MethodModuleList, func(ctx context.Context, d *Daemon, _ json.RawMessage) (any, error) {
		return d.modules(ctx)
	})
	addMethod(api.MethodModuleUninstall, func(ctx context.Context, d *Daemon, params json.RawMessage) (any, error) {
		p, err := decode[api.ModuleParams](params)
		if err != nil {
			return nil, err
		}
		return nil, d.uninstallModule(ctx, p.Name)
	})
}

// moduleSocket is the control socket path a module gets as GPM_SOCKET.
func (d *Daemon) moduleSocket() string {
	if d.opts.Socket != "" {
		return d.opts.Socket
	}
	return api.SocketPath(d.opts.Home)
}

// moduleSettings returns the settings set for module name (keys without the section).
func (d *Daemon) moduleSettings(name string) map[string]string {
	d.settings.mu.Lock()
	defer d.settings.mu.Unlock()
	return d.settings.store.Section(name)
}

// readModule reads the manifest of the installed module name; a module that is not installed is not_found.
func (d *Daemon) readModule(name string) (module.Manifest, error) {
	m, err := module.Read(d.opts.Home, name)
	if errors.Is(err, module.ErrNotInstalled) {
		return m, &api.Error{Code: api.CodeNotFound, Message: err.Error() + " (gpm install SOURCE installs it)"}
	}
	if err != nil {
		return m, &api.Error{Code: api.CodeInvalid, Message: err.Error()}
	}
	return m, nil
}

// startModule starts module name with its settings, or restarts it with them (start's smart start). An app of the
// same name outside the modules namespace is not taken over.
func (d *Daemon) startModule(ctx context.Context, name string) ([]api.Process, error) {
	m, err := d.readModule(name)
	if err != nil {
		return nil, err
	}
	app, err := module.App(d.opts.Home, d.moduleSocket(), m, d.moduleSettings(name))
	if err != nil {
		return nil, &api.Error{Code: api.CodeInvalid, Message: err.Error()}
	}
	var list []api.Process
	if err := d.Caller().Call(ctx, api.MethodList, nil, &list); err != nil {
		return nil, err
	}
	for _, p := range list {
		if p.Name == name && p.Namespace != module.Namespace {
			return nil, &api.Error{Code: api.CodeInvalid, Message: fmt.Sprintf(
				"module %s: an app of that name runs in namespace %s (id %d): delete it or rename the module", name, p.Namespace, p.ID)}
		}
	}
	var out []api.Process
	err = d.Caller().Call(ctx, api.MethodStart, api.StartParams{Apps: []api.StartApp{{App: app}}}, &out)
	return out, err
}

// modules lists the installed modules with their processes.
func (d *Daemon) modules(ctx context.Context) ([]api.Module, error) {
	names, err := module.Installed(d.opts.Home)
	if err != nil {
		return nil, err
	}
	var list []api.Process
	if err := d.Caller().Call(ctx, api.MethodList, nil, &list); err != nil {
		return nil, err
	}
	out := make([]api.Module, 0, len(names))
	for _, n := range names {
		mod := api.Module{Name: n, Dir: module.Path(d.opts.Home, n), Processes: []api.Process{}}
		if m, err := module.Read(d.opts.Home, n); err != nil {
			mod.Error = err.Error()
		} else {
			mod.Version = m.Version
			if mod.Config, err = module.Config(m, d.moduleSettings(n)); err != nil {
				mod.Error = err.Error()
			}
		}
		for _, p := range list {
			if p.Name == n && p.Namespace == module.Namespace {
				mod.Processes = append(mod.Processes, p)
			}
		}
		out = append(out, mod)
	}
	return out, nil
}

// uninstallModule deletes module name's processes (by id: a namesake in another namespace stays), its files and
// its settings.
func (d *Daemon) uninstallModule(ctx context.Context, name string) error {
	if _, err := module.Read(d.opts.Home, name); errors.Is(err, module.ErrNotInstalled) {
		return &api.Error{Code: api.CodeNotFound, Message: err.Error()}
	}
	var list []api.Process
	if err := d.Caller().Call(ctx, api.MethodList, nil, &list); err != nil {
		return err
	}
	var ids []string
	for _, p := range list {
		if p.Name == name && p.Namespace == module.Namespace {
			ids = append(ids, fmt.Sprint(p.ID))
		}
	}
	if len(ids) > 0 {
		if err := d.Caller().Call(ctx, api.MethodDelete, api.Targets{Targets: ids}, nil); err != nil {
			return fmt.Errorf("uninstall %s: %w", name, err)
		}
	}
	if err := module.Remove(d.opts.Home, name); err != nil {
		return err
	}
	d.settings.mu.Lock()
	err := d.settings.store.UnsetSection(name)
	d.settings.mu.Unlock()
	return err
}

// moduleSettingChanged starts again the module whose setting key was set or unset, with its new settings, as PM2
// restarts a module on `pm2 set`. Keys of other sections (logrotate:, a module not installed) change nothing.
func (d *Daemon) moduleSettingChanged(ctx context.Context, key string) error {
	section, _, ok := strings.Cut(settings.Key(key), ":")
	if !ok || section == settings.LogRotate {
		return nil
	}
	if _, err := module.Read(d.opts.Home, section); errors.Is(err, module.ErrNotInstalled) {
		return nil
	}
	if _, err := d.startModule(ctx, section); err != nil {
		return fmt.Errorf("%s: stored, but the module did not restart: %w", key, err)
	}
	return nil
}

// checkModuleSetting refuses a setting of an installed module that would make its configuration one the module
// cannot be started with (over module.MaxConfig), before it is stored: stored, it would stay, and fail every start
// of the module after.
func (d *Daemon) checkModuleSetting(key, value string) error {
	k, v, err := settings.Check(key, value)
	if err != nil {
		return nil // Set says why
	}
	section, sub, ok := strings.Cut(k, ":")
	if !ok || section == settings.LogRotate {
		return nil
	}
	m, err := module.Read(d.opts.Home, section)
	if err != nil {
		return nil // not installed (a setting kept for later), or unreadable: the start says so
	}
	set := d.moduleSettings(section)
	set[sub] = v
	if _, err := module.Config(m, set); err != nil {
		return fmt.Errorf("set %s: %w", k, err)
	}
	return nil
}

// moduleView answers `gpm get MODULE` for an installed module: its whole configuration as MODULE:KEY, defaults
// included (ok false for any other key).
func (d *Daemon) moduleView(key string) (map[string]string, bool) {
	if key == "" || strings.Contains(key, ":") {
		return nil, false
	}
	m, err := module.Read(d.opts.Home, key)
	if err != nil {
		return nil, false
	}
	out := map[string]string{}
	for k, v := range m.Settings {
		if s, ok := v.(string); ok {
			out[key+":"+k] = s
		} else {
			b, _ := json.Marshal(v)
			out[key+":"+k] = string(b)
		}
	}
	for k, v := range d.moduleSettings(key) {
		out[key+":"+k] = v
	}
	return out, true
}
