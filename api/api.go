// Package api defines gpm's control protocol: the requests, replies and events that travel between the daemon and
// its clients over the control socket, and the Process record that `gpm jlist` prints.
//
// The wire format is newline-delimited JSON, one object per line, described in docs/PROTOCOL.md. A connection carries
// any number of request/reply pairs in order; a "subscribe" or "logs" request turns the connection into an event
// stream that ends when the client closes it.
package api

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/gpmd/gpm/config"
)

// Version is the protocol version. A daemon refuses a request whose major version differs.
const Version = 1

// Methods of the control protocol.
const (
	MethodPing       = "ping"
	MethodVersion    = "version"
	MethodStart      = "start"
	MethodStop       = "stop"
	MethodRestart    = "restart"
	MethodDelete     = "delete"
	MethodReset      = "reset"
	MethodScale      = "scale"
	MethodList       = "list"
	MethodSignal     = "signal"
	MethodSend       = "send"
	MethodSave       = "save"
	MethodResurrect  = "resurrect"
	MethodClearDump  = "cleardump"
	MethodFlush      = "flush"
	MethodReloadLogs = "reloadLogs"
	MethodKill       = "kill"
	MethodLogs       = "logs"
	MethodSubscribe  = "subscribe"
	MethodEnv        = "env"
)

// Request is one call. Params is the method's parameter object.
type Request struct {
	V      int             `json:"v"`
	ID     uint64          `json:"id"`
	Method string          `json:"method"`
	Params json.RawMessage `json:"params,omitempty"`
}

// Response answers the Request with the same ID: exactly one of Result and Error is set.
// On an event stream, responses after the first carry Event instead.
type Response struct {
	ID     uint64          `json:"id,omitempty"`
	Result json.RawMessage `json:"result,omitempty"`
	Error  *Error          `json:"error,omitempty"`
	Event  *Event          `json:"event,omitempty"`
}

// Error codes, stable for clients to branch on.
const (
	CodeNotFound   = "not_found"
	CodeInvalid    = "invalid"
	CodeFailed     = "failed"
	CodeDenied     = "denied"
	CodeVersion    = "version"
	CodeNoDump     = "no_dump"
	CodeEmptyList  = "empty_list"
	CodeAlreadyRun = "already_running"
	// CodeTooLarge: the request, or a value in it, is over a limit of the protocol; the message names the limit.
	CodeTooLarge = "too_large"
	// CodeBusy: the daemon is at one of its limits (connections, request bytes in flight); the message names the
	// limit. Trying again later may succeed.
	CodeBusy = "busy"
)

// Limits of the protocol.
const (
	// MaxRequest bounds one request line, newline included: a process file of thousands of apps fits well inside.
	// A longer line is answered with CodeTooLarge and the connection is closed.
	MaxRequest = 16 << 20
	// MaxLogLines bounds LogsParams.Lines: the lines read back from each log file. Larger is answered with
	// CodeTooLarge; the files themselves have every line.
	MaxLogLines = 100_000
)

// TimeoutEnv, when set, is how long a client waits for the daemon's answer: a Go duration or a number of seconds,
// 0 for ever (see client.Client.SetTimeout).
const TimeoutEnv = "GPM_TIMEOUT"

// TooLarge is the error of a request of n bytes, over MaxRequest.
func TooLarge(n int) *Error {
	return &Error{Code: CodeTooLarge, Message: fmt.Sprintf("request of %d bytes or more is over the limit of %d bytes (api.MaxRequest): "+
		"split it (start a process file's apps in parts)", n, MaxRequest)}
}

// Error is a failed call.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *Error) Error() string { return e.Message }

// Targets select processes: an id, a name, a namespace, or "all". Several may be given.
type Targets struct {
	Targets []string `json:"targets"`
}

// ListParams are the optional parameters of MethodList. Fields names the members of each Process to send, by their
// JSON names ("id", "name", "status", "config", ...); absent or empty, all of them. A name the daemon does not know
// is ignored (a newer client asking an older daemon), and so are the params by a daemon older than them, which
// sends every member: a client decodes the answer as Processes either way. `gpm ls` asks for its table's columns:
// with 1000 apps that is a tenth of the whole list's bytes.
type ListParams struct {
	Fields []string `json:"fields,omitempty"`
}

// StartParams asks the daemon to start applications. An app whose name already exists is restarted with the new
// configuration instead (PM2's "smart start"), unless OnlyNew is set, in which case it is left alone.
type StartParams struct {
	Apps []StartApp `json:"apps"`
	// CallerEnv is the environment of the CLI that asked; it is kept in memory, never written to the dump.
	CallerEnv map[string]string `json:"caller_env,omitempty"`
	OnlyNew   bool              `json:"only_new,omitempty"`
	// KeepCallerEnv keeps the caller environment of the apps that already run (a restart with options but without
	// --update-env); new processes still get CallerEnv.
	KeepCallerEnv bool `json:"keep_caller_env,omitempty"`
}

// MaxProcesses is the most processes one daemon holds, all apps together; a request that would add more is refused
// with an error naming it. Each process costs the daemon pipes, log files and goroutines, and the machine a pid:
// past a few thousand, fork fails with EAGAIN and the daemon itself can no longer create the threads it needs. The
// per-app limit is config.MaxInstances.
const MaxProcesses = 4096

// StartApp is one application to start.
type StartApp struct {
	App config.App `json:"app"`
	// Stopped registers the app without starting it (resurrect and import of a stopped app).
	Stopped bool `json:"stopped,omitempty"`
	// InstanceNumbers, when set, are the instance numbers to use (resurrect keeps them): each in
	// 0..config.MaxInstances-1, no number twice. They replace App.Instances as the count of a new app.
	InstanceNumbers []int `json:"instance_numbers,omitempty"`
}

// Validate checks what can be checked without the daemon's table: the app's fields (config.App.Validate) and
// InstanceNumbers. The error names the app and the field.
func (s *StartApp) Validate() error {
	if err := s.App.Validate(); err != nil {
		return fmt.Errorf("app %q: %w", s.App.Name, err)
	}
	if len(s.InstanceNumbers) > config.MaxInstances {
		return fmt.Errorf("app %q: instance_numbers: %d numbers; at most %d instances per app (config.MaxInstances)",
			s.App.Name, len(s.InstanceNumbers), config.MaxInstances)
	}
	seen := make(map[int]bool, len(s.InstanceNumbers))
	for _, n := range s.InstanceNumbers {
		if n < 0 || n >= config.MaxInstances {
			return fmt.Errorf("app %q: instance_numbers: %d is out of range 0..%d (config.MaxInstances-1)",
				s.App.Name, n, config.MaxInstances-1)
		}
		if seen[n] {
			return fmt.Errorf("app %q: instance_numbers: %d appears twice", s.App.Name, n)
		}
		seen[n] = true
	}
	return nil
}

// RestartParams restarts targets. With UpdateEnv the processes take CallerEnv as their new caller environment.
type RestartParams struct {
	Targets   []string          `json:"targets"`
	UpdateEnv bool              `json:"update_env,omitempty"`
	CallerEnv map[string]string `json:"caller_env,omitempty"`
}

// ScaleParams changes the instance count of the app Name: Count is absolute, unless Relative, then it is added.
// The resulting count must be in 1..config.MaxInstances.
type ScaleParams struct {
	Name     string `json:"name"`
	Count    int    `json:"count"`
	Relative bool   `json:"relative,omitempty"`
}

// Validate refuses a count that no app can have, whatever its current count: an absolute one outside
// 1..config.MaxInstances, a relative one larger than config.MaxInstances either way.
func (s *ScaleParams) Validate() error {
	if s.Relative {
		if s.Count > config.MaxInstances || s.Count < -config.MaxInstances {
			return fmt.Errorf("scale %s by %+d: at most %d instances per app (config.MaxInstances)", s.Name, s.Count,
				config.MaxInstances)
		}
		return nil
	}
	if s.Count < 1 {
		return fmt.Errorf("scale %s to %d: at least 1 instance is needed (use `gpm delete %s` to remove it)",
			s.Name, s.Count, s.Name)
	}
	return config.CheckInstances("scale "+s.Name+" to", s.Count)
}

// SignalParams sends Signal ("SIGUSR2", "USR2" or a number) to the targets' processes.
type SignalParams struct {
	Signal  string   `json:"signal"`
	Targets []string `json:"targets"`
}

// SendParams writes Line and a newline to the standard input of the targets' processes (PM2's `send`). Only apps
// started with stdin (config.App.Stdin) have one to write to; the others are an error naming them.
type SendParams struct {
	Targets []string `json:"targets"`
	Line    string   `json:"line"`
}

// SaveParams writes the dump. Force allows an empty list.
type SaveParams struct {
	Force bool `json:"force,omitempty"`
}

// LogsParams streams log lines of the targets (all when empty): first the last Lines lines of each file, then live
// lines unless NoStream.
type LogsParams struct {
	Targets  []string `json:"targets,omitempty"`
	Lines    int      `json:"lines"`
	NoStream bool     `json:"nostream,omitempty"`
	Out      bool     `json:"out,omitempty"` // only stdout
	Err      bool     `json:"err,omitempty"` // only stderr
	// NoLogs, with MethodSubscribe, leaves the log lines out: a live view that shows every app's state and figures
	// but one app's lines opens a MethodLogs stream for that app beside it, instead of decoding every line of every
	// app (a selected app writing 240k lines/s cost gpm-monit 9 % of a core).
	NoLogs bool `json:"nologs,omitempty"`
}

// Status values of a process, as PM2 names them.
const (
	StatusLaunching = "launching"
	StatusOnline    = "online"
	StatusStopping  = "stopping"
	StatusStopped   = "stopped"
	StatusWaiting   = "waiting"
	StatusErrored   = "errored"
	// StatusDeleted is only ever in an event (EventState): the process has left the table (gpm delete, an uninstall,
	// a scale down). It is the last event of its id.
	StatusDeleted = "deleted"
)

// Process is one supervised process (one instance of an app), as `gpm jlist` prints it.
//
// Important (!): these JSON names are a documented interface (docs/PROTOCOL.md). Add fields; never rename them.
type Process struct {
	ID               int        `json:"id"`
	Name             string     `json:"name"`
	Namespace        string     `json:"namespace"`
	PID              int        `json:"pid"`
	Status           string     `json:"status"`
	Restarts         int        `json:"restarts"`
	UnstableRestarts int        `json:"unstable_restarts"`
	ExitCode         *int       `json:"exit_code"`
	ExitSignal       string     `json:"exit_signal,omitempty"`
	Instance         int        `json:"instance"`
	Mode             string     `json:"mode"`
	UptimeMS         int64      `json:"uptime_ms"`
	StartedAt        *time.Time `json:"started_at,omitempty"`
	CreatedAt        time.Time  `json:"created_at"`
	// CPU (percent of one cpu) and Memory (bytes) are those of the process's whole tree: its cgroup, or its
	// leader and descendants (Containment).
	CPU    float64 `json:"cpu"`
	Memory uint64  `json:"memory"`
	// CPUSeconds is the cpu time the current run's tree used (a counter, reset by a restart; Prometheus's
	// process_cpu_seconds_total).
	CPUSeconds float64 `json:"cpu_seconds"`
	// Containment is how the daemon holds the process's tree: "cgroup" (a cgroup v2 per run, Cgroup) or
	// "process-group" (its process group and tracked descendants); ContainmentReason says why.
	Containment       string `json:"containment,omitempty"`
	ContainmentReason string `json:"containment_reason,omitempty"`
	Cgroup            string `json:"cgroup,omitempty"`
	// Reason says why the process is errored, stopped on its own, or waiting.
	Reason string `json:"reason,omitempty"`
	// StatusText is the app's last STATUS= sent on its NOTIFY_SOCKET.
	StatusText  string     `json:"status_text,omitempty"`
	NextRestart *time.Time `json:"next_restart,omitempty"`
	OutLog      string     `json:"out_log,omitempty"`
	ErrLog      string     `json:"err_log,omitempty"`
	CombinedLog string     `json:"log,omitempty"`
	Config      config.App `json:"config"`
}

// ResurrectResult says what resurrect did, app by app.
type ResurrectResult struct {
	Source  string   `json:"source"` // the file read: dump.json or dump.json.bak
	Started []string `json:"started"`
	Stopped []string `json:"stopped"` // registered, kept stopped
	Skipped []string `json:"skipped"` // already present
	Warning string   `json:"warning,omitempty"`
}

// SaveResult says where the dump went.
type SaveResult struct {
	Path  string `json:"path"`
	Apps  int    `json:"apps"`
	Procs int    `json:"procs"`
}

// VersionInfo answers "version".
type VersionInfo struct {
	Version  string `json:"version"`
	Protocol int    `json:"protocol"`
	PID      int    `json:"pid"`
	Home     string `json:"home"`
	// Supervised is true when a service manager runs the daemon (it was given a NOTIFY_SOCKET): restarting it is
	// then the service manager's job, not a client's.
	Supervised bool `json:"supervised,omitempty"`
}

// Event types.
const (
	EventState = "state" // a process changed status
	EventLog   = "log"   // a log line
	EventEnd   = "end"   // a finite stream (logs --nostream) is complete
	// EventDropped stands where events were lost: the reader was too slow and the daemon's queue for it was full.
	// Dropped says how many.
	EventDropped = "dropped"
	// EventSample carries the cpu and memory figures of every running process, once per sampling interval
	// (2 s by default), so that a live view needs no polling of "list".
	EventSample = "sample"
)

// Sample is one process's figures in an EventSample.
type Sample struct {
	ID         int     `json:"id"`
	PID        int     `json:"pid"`
	CPU        float64 `json:"cpu"`         // percent of one cpu, as in Process
	Memory     uint64  `json:"memory"`      // bytes, as in Process
	CPUSeconds float64 `json:"cpu_seconds"` // as in Process
}

// Event is one item of an event stream.
type Event struct {
	Type string `json:"type"`
	// Time is when the event happened; absent for log lines read back from a file (the line may carry its own).
	Time   time.Time `json:"time,omitzero"`
	ID     int       `json:"id"`
	Name   string    `json:"name,omitempty"`
	Status string    `json:"status,omitempty"` // EventState
	PID    int       `json:"pid,omitempty"`
	Stream string    `json:"stream,omitempty"` // EventLog: "out" or "err"
	Line   string    `json:"line,omitempty"`   // EventLog: as written to the log file, without the newline
	// Reason for a state change (exit code, signal, "max restarts reached", ...).
	Reason string `json:"reason,omitempty"`
	// Dropped is the number of events lost at this point of the stream (EventDropped).
	Dropped int64 `json:"dropped,omitempty"`
	// Seq numbers the events the daemon published, in order, from 1 at its start: a reader that sees a gap lost
	// events (an EventDropped says how many), and a surface that replays recent events (SSE's Last-Event-ID) can
	// resume after one. Events read back from files (a log tail) and EventDropped/EventEnd have none.
	Seq uint64 `json:"seq,omitempty"`
	// Samples are the figures of an EventSample.
	Samples []Sample `json:"samples,omitempty"`
}

// Caller is the daemon's operations as its control socket serves them: *client.Client implements it over the
// socket, and the daemon itself (service.Daemon.Caller) for the surfaces that run inside it (HTTP, D-Bus), which
// therefore see the same operations, checks and limits as the CLI.
type Caller interface {
	// Call runs method with params (any value that encodes as the method's parameters) and decodes the result
	// into result (a pointer, or nil). A failure the daemon reports is an *Error.
	Call(ctx context.Context, method string, params, result any) error
	// Stream runs MethodLogs or MethodSubscribe and calls fn with each event until ctx ends, the stream ends, or fn
	// returns an error (which Stream returns).
	Stream(ctx context.Context, method string, params any, fn func(Event) error) error
}

// Layout of a GPM_HOME directory. Everything one daemon owns is under its home, so daemons with different homes
// never see each other.
const (
	SocketName   = "gpm.sock"
	LockName     = "daemon.lock"
	SpawnLock    = "spawn.lock"
	PidName      = "gpm.pid"
	DaemonLog    = "gpm.log"
	DumpName     = "dump.json"
	SettingsName = "settings.json"
	LogsDir      = "logs"
	PidsDir      = "pids"
	ModulesDir   = "modules" // installed modules (service/module), whose commands the daemon runs
	HomeEnv      = "GPM_HOME"
	DefaultHomeD = ".gpm"
)

// Methods of the settings store (`gpm set/get/unset`, service/settings): SetParams, GetParams, GetParams.
const (
	MethodSet   = "set"
	MethodGet   = "get"
	MethodUnset = "unset"
)

// SetParams sets Key (SECTION:NAME; pm2-logrotate:NAME is logrotate:NAME) to Value. The result is an object with
// the one key and value as stored. A bad key or value is an "invalid" error, and nothing changes.
type SetParams struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// GetParams names one key ("" for all). The result is an object of keys and values; get of a key that is not set,
// and unset of one, are "not_found" errors.
type GetParams struct {
	Key string `json:"key,omitempty"`
}

// MethodReload replaces workers without downtime (see ReloadParams).
const MethodReload = "reload"

// ReloadParams reload targets: per instance, a new worker starts on the same sockets, and the old one stops once
// the new one is ready; Parallel instances at a time (default 1). UpdateEnv as for restart.
//
// With Apps (a process file), each app first takes its new configuration and instance count (a missing app is
// started), then its workers are reloaded; Targets is ignored.
type ReloadParams struct {
	Targets   []string          `json:"targets"`
	Apps      []config.App      `json:"apps,omitempty"`
	Parallel  int               `json:"parallel,omitempty"`
	UpdateEnv bool              `json:"update_env,omitempty"`
	CallerEnv map[string]string `json:"caller_env,omitempty"`
}
