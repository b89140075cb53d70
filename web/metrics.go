package web

import (
	"bufio"
	"math"
	"net/http"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"time"

	"github.com/gpmd/gpm/api"
)

// The metrics are written in the Prometheus text format 0.0.4 by this file, not through client_golang or its
// exposition package (prometheus/common/expfmt): both link google.golang.org/protobuf, whose package
// initialisation alone is resident in every daemon, API on or off. Measured (BENCHMARKS.md, issue 9): in a minimal
// server, the full client cost 4.5 MB of RSS and expfmt alone 2.4 MB; in the daemon with 50 apps, expfmt raised
// RSS from 11.8 to 15.8 MB with the API off. The format is small (a HELP, a TYPE, then one line a series); the tests
// parse every answer with expfmt's text parser and run promlint on it, so a mistake here fails them. The Go
// runtime and process figures come from runtime/metrics and /proc, under client_golang's names.

// contentType is the text format's, as expfmt.FmtText (Prometheus 3 refuses a scrape without it).
const contentType = "text/plain; version=0.0.4; charset=utf-8"

// family is one metric family: its samples share a name, a help and a type.
type family struct {
	name, help, typ string
	samples         []sample
}

// sample is one series: label pairs (name, value, name, value, ...) and its value.
type sample struct {
	labels []string
	value  float64
}

func (f *family) add(labels []string, v float64) { f.samples = append(f.samples, sample{labels, v}) }

// write writes f in the text format: HELP, TYPE, then a line a sample.
func (f *family) write(w *bufio.Writer) {
	if len(f.samples) == 0 {
		return
	}
	w.WriteString("# HELP ")
	w.WriteString(f.name)
	w.WriteByte(' ')
	w.WriteString(helpEscaper.Replace(f.help))
	w.WriteString("\n# TYPE ")
	w.WriteString(f.name)
	w.WriteByte(' ')
	w.WriteString(f.typ)
	w.WriteByte('\n')
	var num [32]byte
	for _, s := range f.samples {
		w.WriteString(f.name)
		if len(s.labels) > 0 {
			w.WriteByte('{')
			for i := 0; i+1 < len(s.labels); i += 2 {
				if i > 0 {
					w.WriteByte(',')
				}
				w.WriteString(s.labels[i])
				w.WriteString(`="`)
				w.WriteString(labelEscaper.Replace(s.labels[i+1]))
				w.WriteByte('"')
			}
			w.WriteByte('}')
		}
		w.WriteByte(' ')
		switch v := s.value; {
		case math.IsNaN(v):
			w.WriteString("NaN")
		case math.IsInf(v, 1):
			w.WriteString("+Inf")
		case math.IsInf(v, -1):
			w.WriteString("-Inf")
		default:
			w.Write(strconv.AppendFloat(num[:0], v, 'g', -1, 64))
		}
		w.WriteByte('\n')
	}
}

// The text format's escapes: in HELP, backslash and newline; in label values, also the double quote.
var (
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
	labelEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)
)

// statuses are the values of gpm_process_status's status label: one series per status, 1 on the current one
// (a state set, as node_exporter's node_systemd_unit_state).
var statuses = []string{api.StatusLaunching, api.StatusOnline, api.StatusStopping, api.StatusStopped, api.StatusWaiting, api.StatusErrored}

// handleMetrics answers GET /metrics in the Prometheus text format 0.0.4.
func (s *Server) handleMetrics(w http.ResponseWriter, r *http.Request) {
	var list []metricsProcess
	if err := s.caller.Call(r.Context(), api.MethodList, nil, &list); err != nil {
		s.fail(w, err)
		return
	}
	var ds *DaemonStats
	var got DaemonStats
	if s.caller.Call(r.Context(), StatsMethod, nil, &got) == nil {
		ds = &got
	}
	w.Header().Set("Content-Type", contentType)
	bw := bufio.NewWriterSize(w, 32<<10)
	for _, f := range s.families(list, ds) {
		f.write(bw)
	}
	bw.Flush()
}

// metricsProcess is the part of api.Process that /metrics shows: decoding the list into it skips each app's
// configuration, most of the list's bytes.
type metricsProcess struct {
	ID               int        `json:"id"`
	Name             string     `json:"name"`
	Namespace        string     `json:"namespace"`
	Status           string     `json:"status"`
	Restarts         int        `json:"restarts"`
	UnstableRestarts int        `json:"unstable_restarts"`
	Instance         int        `json:"instance"`
	StartedAt        *time.Time `json:"started_at"`
	Memory           uint64     `json:"memory"`
	CPUSeconds       float64    `json:"cpu_seconds"`
}

func (s *Server) families(list []metricsProcess, ds *DaemonStats) []*family {
	const gauge, counter = "gauge", "counter"
	fam := func(name, help, typ string) *family {
		return &family{name: name, help: help, typ: typ, samples: make([]sample, 0, len(list))}
	}
	up := fam("gpm_process_up", "1 when the process runs (launching, online or stopping), else 0.", gauge)
	status := fam("gpm_process_status", "1 for the process's current status, 0 for the others.", gauge)
	ready := fam("gpm_process_ready", "1 when the process is online (ready, with wait_ready), else 0.", gauge)
	cpu := fam("gpm_process_cpu_seconds_total", "CPU time used by the process's tree in its current run, in seconds.", counter)
	mem := fam("gpm_process_memory_bytes", "Memory of the process's tree (its cgroup, or the RSS of its members), in bytes.", gauge)
	restarts := fam("gpm_process_restarts_total", "Restarts of the process since it was added or reset.", counter)
	unstable := fam("gpm_process_unstable_restarts_total", "Restarts of the process that followed a run shorter than min_uptime.", counter)
	start := fam("gpm_process_start_time_seconds", "Start of the process's current run, in seconds since the epoch; 0 when it does not run.", gauge)
	for i := range list {
		p := &list[i]
		labels := []string{"name", p.Name, "namespace", p.Namespace, "id", strconv.Itoa(p.ID), "instance", strconv.Itoa(p.Instance)}
		running := p.Status == api.StatusLaunching || p.Status == api.StatusOnline || p.Status == api.StatusStopping
		up.add(labels, b2f(running))
		ready.add(labels, b2f(p.Status == api.StatusOnline))
		for _, st := range statuses {
			status.add(append(labels[:len(labels):len(labels)], "status", st), b2f(p.Status == st))
		}
		cpu.add(labels, p.CPUSeconds)
		mem.add(labels, float64(p.Memory))
		restarts.add(labels, float64(p.Restarts))
		unstable.add(labels, float64(p.UnstableRestarts))
		var t float64
		if running && p.StartedAt != nil {
			t = float64(p.StartedAt.UnixNano()) / 1e9
		}
		start.add(labels, t)
	}
	one := func(name, help, typ string, v float64, labels ...string) *family {
		return &family{name: name, help: help, typ: typ, samples: []sample{{labels, v}}}
	}
	fams := []*family{up, status, ready, cpu, mem, restarts, unstable, start,
		one("gpm_processes", "Processes the daemon supervises, all apps together.", gauge, float64(len(list))),
		one("gpm_build_info", "The daemon's version, as a label; always 1.", gauge, 1, "version", s.version, "goversion", runtime.Version()),
		one("gpm_web_requests_total", "HTTP requests the API received.", counter, float64(s.stats.requests.Load())),
		one("gpm_web_requests_refused_total", "HTTP requests refused by the access rules (token, Host).", counter, float64(s.stats.refused.Load())),
		one("gpm_web_event_streams", "Event streams (GET /api/events) open.", gauge, float64(s.stats.streams.Load())),
		one("gpm_web_event_streams_dropped_total", "Event streams closed because their reader fell web.ClientQueue events behind.", counter, float64(s.stats.streamsDropped.Load())),
		one("gpm_events_dropped_total", "Events the daemon dropped from the API's subscription because it read too slowly.", counter, float64(s.stats.subscriptionLost.Load())),
	}

	if ds != nil {
		fams = append(fams,
			one("gpm_control_connections", "Open connections of the control socket.", gauge, float64(ds.ControlConnections)),
			one("gpm_event_subscribers", "Event subscribers of the daemon (gpm logs, the API's own subscription, ...).", gauge, float64(ds.Subscribers)),
			one("gpm_event_queued_bytes", "Bytes of events queued for all subscribers (a subscriber over its budget loses events).", gauge, float64(ds.QueuedEventBytes)),
		)
	}

	// The daemon's own figures, under client_golang's names: its Go collector's and, where the system tells them
	// (processFigures), its process collector's.
	rs := []metrics.Sample{
		{Name: "/sched/goroutines:goroutines"},
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/total:bytes"},
		{Name: "/gc/cycles/total:gc-cycles"},
	}
	metrics.Read(rs)
	value := func(i int) float64 {
		if rs[i].Value.Kind() == metrics.KindUint64 {
			return float64(rs[i].Value.Uint64())
		}
		return 0
	}
	fams = append(fams,
		one("go_goroutines", "Number of goroutines that currently exist.", gauge, value(0)),
		one("go_memstats_heap_alloc_bytes", "Number of heap bytes allocated and still in use.", gauge, value(1)),
		one("go_memstats_sys_bytes", "Number of bytes obtained from system.", gauge, value(2)),
		one("go_gc_cycles_total", "Completed GC cycles.", counter, value(3)),
		one("go_info", "Information about the Go environment.", gauge, 1, "version", runtime.Version()),
	)
	for _, p := range processFigures() {
		typ := gauge
		if p.counter {
			typ = counter
		}
		fams = append(fams, one(p.name, p.help, typ, p.value))
	}
	return fams
}

// processFigure is one of the process collector's figures (process_*).
type processFigure struct {
	name, help string
	counter    bool
	value      float64
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
