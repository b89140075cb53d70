package api

// Methods of modules (`gpm install`, `gpm module ls`, `gpm uninstall`; docs/MODULES.md). The CLI copies a
// module's files into GPM_HOME/modules/<name> itself (as the user who runs it); the daemon starts it from there.
const (
	// MethodModuleStart starts (or restarts with its current settings) the installed module ModuleParams.Name,
	// as an app of namespace ModuleNamespace; the result is its processes ([]Process).
	MethodModuleStart = "module.start"
	// MethodModuleList lists the installed modules ([]Module).
	MethodModuleList = "module.list"
	// MethodModuleUninstall deletes the module's processes, its files and its settings.
	MethodModuleUninstall = "module.uninstall"
	// MethodTrigger runs an action of the targets' processes (TriggerParams → []TriggerResult).
	MethodTrigger = "trigger"
)

// ModuleNamespace is the namespace modules run in; `gpm ls` hides it unless --all.
const ModuleNamespace = "modules"

// ModuleParams names a module.
type ModuleParams struct {
	Name string `json:"name"`
}

// Module is an installed module.
type Module struct {
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
	Dir     string `json:"dir"`
	// Config is GPM_MODULE_CONFIG as the module's next start gets it.
	Config string `json:"config"`
	// Processes are the module's processes (none when it is installed but not registered, say after `gpm delete`).
	Processes []Process `json:"processes"`
	// Error says why the module cannot start (a manifest edited by hand), if so.
	Error string `json:"error,omitempty"`
}

// TriggerParams runs Action of each process of Targets, with Arg (none when empty).
type TriggerParams struct {
	Targets []string `json:"targets"`
	Action  string   `json:"action"`
	Arg     string   `json:"arg,omitempty"`
}

// TriggerResult is one process's answer to a trigger: Output is the action's output (a process-file action's
// stdout and stderr, or a run-time action's reply); Error, when set, says why it failed (with whatever output
// came).
type TriggerResult struct {
	ID     int    `json:"id"`
	Name   string `json:"name"`
	Output string `json:"output"`
	Error  string `json:"error,omitempty"`
}
