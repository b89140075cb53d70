package service

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/gpmd/gpm/api"
	"github.com/gpmd/gpm/internal/jsontext"
)

// listed is one process of a list answer: what the loop copied of it, and its configuration already encoded
// (proc.appJSON).
type listed struct {
	procInfo
	config []byte
}

// procInfo is an api.Process without its Config, and with values where it has pointers: what the loop copies of
// each process for a list. The config is 600 of api.Process's 984 bytes (a list of 1000 cleared 1 MB for nothing,
// and each copy of a config allocated its maps and slices), and each pointer an allocation.
type procInfo struct {
	ID, PID, Restarts, UnstableRestarts, Instance int
	Name, Namespace, Status, ExitSignal, Mode     string
	ExitCode                                      int
	Exited                                        bool // ExitCode is set (api.Process.ExitCode is not nil)
	UptimeMS                                      int64
	StartedAt, CreatedAt                          time.Time
	Started                                       bool      // StartedAt is set (api.Process.StartedAt is not nil)
	NextRestart                                   time.Time // unset when zero
	CPU, CPUSeconds                               float64
	Memory                                        uint64
	Containment, ContainmentReason, Cgroup        string
	Reason, StatusText                            string
	OutLog, ErrLog, CombinedLog                   string
}

// process is i as an api.Process (without a Config).
func (i *procInfo) process() api.Process {
	p := api.Process{ID: i.ID, Name: i.Name, Namespace: i.Namespace, PID: i.PID, Status: i.Status,
		Restarts: i.Restarts, UnstableRestarts: i.UnstableRestarts, ExitSignal: i.ExitSignal, Instance: i.Instance,
		Mode: i.Mode, UptimeMS: i.UptimeMS, CreatedAt: i.CreatedAt, CPU: i.CPU, Memory: i.Memory,
		CPUSeconds: i.CPUSeconds, Containment: i.Containment, ContainmentReason: i.ContainmentReason,
		Cgroup: i.Cgroup, Reason: i.Reason, StatusText: i.StatusText, OutLog: i.OutLog, ErrLog: i.ErrLog,
		CombinedLog: i.CombinedLog}
	if i.Exited {
		code := i.ExitCode
		p.ExitCode = &code
	}
	if i.Started {
		t := i.StartedAt
		p.StartedAt = &t
	}
	if !i.NextRestart.IsZero() {
		t := i.NextRestart
		p.NextRestart = &t
	}
	return p
}

// processList is the answer to "list", encoded by hand (api.JSONAppender): encoding/json's reflection over 1000
// processes and their configs, and the copies of the configs it encoded, were most of the daemon's work for
// `gpm jlist` (issue 13). The bytes are encoding/json's, field for field (TestAppendProcess); fields leaves members
// out (api.ListParams).
type processList struct {
	procs  []listed
	fields fieldSet
}

// The members of api.Process, in their order, as a set: bit i is processFields[i].
type fieldSet uint32

const (
	fConfig   = 26 // the index of "config" in processFields
	allFields = fieldSet(1)<<(fConfig+1) - 1
)

// processFields are the JSON names of api.Process's members, in order (TestAppendProcessFields).
var processFields = [...]string{"id", "name", "namespace", "pid", "status", "restarts", "unstable_restarts",
	"exit_code", "exit_signal", "instance", "mode", "uptime_ms", "started_at", "created_at", "cpu", "memory",
	"cpu_seconds", "containment", "containment_reason", "cgroup", "reason", "status_text", "next_restart", "out_log",
	"err_log", "log", "config"}

// fieldsOf is the set that api.ListParams.Fields names: all of them when it names none; unknown names are
// ignored.
func fieldsOf(names []string) fieldSet {
	if len(names) == 0 {
		return allFields
	}
	var set fieldSet
	for _, n := range names {
		for i, f := range processFields {
			if f == n {
				set |= 1 << i
			}
		}
	}
	return set
}

func (s fieldSet) has(i int) bool { return s&(1<<i) != 0 }

// AppendJSON appends the list as json.Marshal of []api.Process would encode it, with only the members of
// l.fields.
func (l processList) AppendJSON(b []byte) []byte {
	n := 2
	for i := range l.procs {
		n += len(l.procs[i].config) + 768 // the record without its config is 500-700 bytes
	}
	b = slices.Grow(b, n)
	b = append(b, '[')
	for i := range l.procs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendProcess(b, &l.procs[i].procInfo, l.procs[i].config, l.fields)
	}
	return append(b, ']')
}

// MarshalJSON serves encoding/json (the in-process api.Caller).
func (l processList) MarshalJSON() ([]byte, error) { return l.AppendJSON(nil), nil }

// record appends one api.Process's members, each with its key after a comma, or a brace for the first.
type record struct {
	b      []byte
	fields fieldSet
	n      int // members written
}

// key starts member i (processFields) and reports whether it is wanted.
func (r *record) key(i int) bool {
	if !r.fields.has(i) {
		return false
	}
	if r.n > 0 {
		r.b = append(r.b, ',')
	}
	r.n++
	r.b = append(r.b, '"')
	r.b = append(r.b, processFields[i]...)
	r.b = append(r.b, '"', ':')
	return true
}

func (r *record) int(i int, v int64) {
	if r.key(i) {
		r.b = strconv.AppendInt(r.b, v, 10)
	}
}

func (r *record) str(i int, v string) {
	if r.key(i) {
		r.b = jsontext.AppendString(r.b, v, true)
	}
}

// omitEmpty is str for a `json:",omitempty"` member.
func (r *record) omitEmpty(i int, v string) {
	if v != "" {
		r.str(i, v)
	}
}

func (r *record) time(i int, t time.Time) {
	if r.key(i) {
		r.b = appendTime(r.b, t)
	}
}

func (r *record) float(i int, f float64) {
	if r.key(i) {
		r.b = appendFloat(r.b, f)
	}
}

// appendProcess appends p as encoding/json encodes it as an api.Process (p.process()), with config as its
// "config", and only the members in fields.
//
// Important (!): a field added to api.Process is added here and to processFields, in its place;
// TestAppendProcessFields fails until it is.
func appendProcess(b []byte, p *procInfo, config []byte, fields fieldSet) []byte {
	r := record{b: append(b, '{'), fields: fields}
	r.int(0, int64(p.ID))
	r.str(1, p.Name)
	r.str(2, p.Namespace)
	r.int(3, int64(p.PID))
	r.str(4, p.Status)
	r.int(5, int64(p.Restarts))
	r.int(6, int64(p.UnstableRestarts))
	if r.key(7) {
		if p.Exited {
			r.b = strconv.AppendInt(r.b, int64(p.ExitCode), 10)
		} else {
			r.b = append(r.b, "null"...)
		}
	}
	r.omitEmpty(8, p.ExitSignal)
	r.int(9, int64(p.Instance))
	r.str(10, p.Mode)
	r.int(11, p.UptimeMS)
	if p.Started {
		r.time(12, p.StartedAt)
	}
	r.time(13, p.CreatedAt)
	r.float(14, p.CPU)
	if r.key(15) {
		r.b = strconv.AppendUint(r.b, p.Memory, 10)
	}
	r.float(16, p.CPUSeconds)
	r.omitEmpty(17, p.Containment)
	r.omitEmpty(18, p.ContainmentReason)
	r.omitEmpty(19, p.Cgroup)
	r.omitEmpty(20, p.Reason)
	r.omitEmpty(21, p.StatusText)
	if !p.NextRestart.IsZero() {
		r.time(22, p.NextRestart)
	}
	r.omitEmpty(23, p.OutLog)
	r.omitEmpty(24, p.ErrLog)
	r.omitEmpty(25, p.CombinedLog)
	if r.key(fConfig) {
		r.b = append(r.b, config...)
	}
	return append(r.b, '}')
}

// appendTime appends t as time.Time's MarshalJSON does, for the years it accepts (0-9999: every time the daemon
// records).
func appendTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// appendFloat appends f as encoding/json does: like %g with ES6's exponent cutoffs. A NaN or an infinity, which
// encoding/json refuses (failing the whole list), is written as 0: a figure the sampler could not compute.
func appendFloat(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, '0')
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' { // e-09 → e-9, as encoding/json
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// appJSON returns p's configuration as JSON, encoded once per configuration: it changes only when p is
// registered, configured again (start of a known app, reload with a new config) or scaled, and in cluster
// adoption (node.go); each of them calls p.setApp or p.appChanged. Runs on the loop.
func (p *proc) appJSON() []byte {
	if p.appJSONCache == nil {
		b, err := json.Marshal(&p.app)
		if err != nil {
			// config.App holds nothing encoding/json refuses; should it one day, the list says so rather than fail.
			b, _ = json.Marshal(map[string]string{"error": "config: " + err.Error()})
		}
		p.appJSONCache = b
	}
	return p.appJSONCache
}

// logPaths is d.logPaths(p), computed once per configuration as appJSON is (three path joins for each process
// were a third of the loop's work for a list). Runs on the loop.
func (p *proc) logPaths(d *Daemon) *[3]string {
	if p.logsCache == nil {
		o, e, c := d.logPaths(p)
		p.logsCache = &[3]string{o, e, c}
	}
	return p.logsCache
}

// appChanged drops what was derived from p.app (appJSON, logPaths) after a change of it.
func (p *proc) appChanged() { p.appJSONCache, p.logsCache = nil, nil }
