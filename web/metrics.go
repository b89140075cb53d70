package web

import (
	"context"
	"math"
	"net/http"
	"runtime"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync"

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

// MetricsMethod is a read-only control method for /metrics: in one call, the figures of every process that
// /metrics shows and DaemonStats (MetricsSnapshot). It is served by service/web.go. The list method would do, but
// it copies each app's whole configuration through JSON, twice (encoded by the daemon, decoded here): with 100
// apps that was 60 % of a scrape.
const MetricsMethod = "webMetrics"

// MetricsSnapshot answers MetricsMethod.
type MetricsSnapshot struct {
	Processes []MetricsProcess `json:"processes"` // ordered by id
	Stats     DaemonStats      `json:"stats"`
}

// MetricsProcess is the part of api.Process that /metrics shows.
type MetricsProcess struct {
	ID               int     `json:"id"`
	Name             string  `json:"name"`
	Namespace        string  `json:"namespace"`
	Status           string  `json:"status"`
	Restarts         int     `json:"restarts"`
	UnstableRestarts int     `json:"unstable_restarts"`
	Instance         int     `json:"instance"`
	StartTime        float64 `json:"start_time"` // of the current run, seconds since the epoch; 0 when it does not run
	Memory           uint64  `json:"memory"`
	CPUSeconds       float64 `json:"cpu_seconds"`
}

// metricsSnapshot asks the daemon for the figures of /metrics (MetricsMethod).
func (s *Server) metricsSnapshot(ctx context.Context) ([]MetricsProcess, *DaemonStats, error) {
	var snap MetricsSnapshot
	if err := s.caller.Call(ctx, MetricsMethod, nil, &snap); err != nil {
		return nil, nil, err
	}
	return snap.Processes, &snap.Stats, nil
}

// exposition builds one answer of /metrics in the text format, straight into a byte slice (no fmt, no family
// structures, one buffer reused from scrape to scrape through expositions).
type exposition struct {
	b      []byte
	labels []byte // each process's labels, name="..",namespace="..",id="..",instance="..", one after the other
	ends   []int  // labels[ends[i-1]:ends[i]] are process i's
}

// expositions keeps the buffers of recent scrapes (about 1.2 KB of text an app).
var expositions = sync.Pool{New: func() any { return new(exposition) }}

// maxKeptExposition bounds the buffer a scrape leaves for the next one.
const maxKeptExposition = 1 << 20

// head writes a family's HELP and TYPE lines.
func (e *exposition) head(name, help, typ string) {
	e.b = append(e.b, "# HELP "...)
	e.b = append(e.b, name...)
	e.b = append(e.b, ' ')
	if strings.ContainsAny(help, "\\\n") {
		help = helpEscaper.Replace(help)
	}
	e.b = append(e.b, help...)
	e.b = append(e.b, "\n# TYPE "...)
	e.b = append(e.b, name...)
	e.b = append(e.b, ' ')
	e.b = append(e.b, typ...)
	e.b = append(e.b, '\n')
}

// value ends a sample line with its value.
func (e *exposition) value(v float64) {
	e.b = append(e.b, ' ')
	switch {
	case math.IsNaN(v):
		e.b = append(e.b, "NaN"...)
	case math.IsInf(v, 1):
		e.b = append(e.b, "+Inf"...)
	case math.IsInf(v, -1):
		e.b = append(e.b, "-Inf"...)
	default:
		e.b = strconv.AppendFloat(e.b, v, 'g', -1, 64)
	}
	e.b = append(e.b, '\n')
}

// appendLabel appends name="value" (value escaped) to b.
func appendLabel(b []byte, name, value string) []byte {
	b = append(b, name...)
	b = append(b, `="`...)
	if strings.ContainsAny(value, "\\\n\"") {
		value = labelEscaper.Replace(value)
	}
	b = append(b, value...)
	return append(b, '"')
}

// one writes a family of one sample; labels are pairs (name, value, ...).
func (e *exposition) one(name, help, typ string, v float64, labels ...string) {
	e.head(name, help, typ)
	e.b = append(e.b, name...)
	if len(labels) > 0 {
		e.b = append(e.b, '{')
		for i := 0; i+1 < len(labels); i += 2 {
			if i > 0 {
				e.b = append(e.b, ',')
			}
			e.b = appendLabel(e.b, labels[i], labels[i+1])
		}
		e.b = append(e.b, '}')
	}
	e.value(v)
}

// perProcess writes a family with one sample per process (none when there is no process: a family without samples
// is left out, as client_golang does).
func (e *exposition) perProcess(procs []MetricsProcess, name, help, typ string, value func(p *MetricsProcess) float64) {
	if len(procs) == 0 {
		return
	}
	e.head(name, help, typ)
	for i := range procs {
		e.sample(name, i, "", "")
		e.value(value(&procs[i]))
	}
}

// sample writes name{process i's labels[,extra="value"]} (its value follows).
func (e *exposition) sample(name string, i int, extra, value string) {
	from := 0
	if i > 0 {
		from = e.ends[i-1]
	}
	e.b = append(e.b, name...)
	e.b = append(e.b, '{')
	e.b = append(e.b, e.labels[from:e.ends[i]]...)
	if extra != "" {
		e.b = append(e.b, ',')
		e.b = appendLabel(e.b, extra, value)
	}
	e.b = append(e.b, '}')
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
	procs, ds, err := s.metricsSnapshot(r.Context())
	if err != nil {
		s.fail(w, err)
		return
	}
	e := expositions.Get().(*exposition)
	s.expose(e, procs, ds)
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(e.b)))
	w.Write(e.b)
	if cap(e.b) <= maxKeptExposition {
		e.b, e.labels, e.ends = e.b[:0], e.labels[:0], e.ends[:0]
		expositions.Put(e)
	}
}

func running(status string) bool {
	return status == api.StatusLaunching || status == api.StatusOnline || status == api.StatusStopping
}

// expose writes the whole answer into e.b.
func (s *Server) expose(e *exposition, procs []MetricsProcess, ds *DaemonStats) {
	const gauge, counter = "gauge", "counter"
	e.b = slices.Grow(e.b, 8<<10+1400*len(procs))
	for i := range procs {
		p := &procs[i]
		e.labels = appendLabel(e.labels, "name", p.Name)
		e.labels = append(e.labels, ',')
		e.labels = appendLabel(e.labels, "namespace", p.Namespace)
		e.labels = append(e.labels, `,id="`...)
		e.labels = strconv.AppendInt(e.labels, int64(p.ID), 10)
		e.labels = append(e.labels, `",instance="`...)
		e.labels = strconv.AppendInt(e.labels, int64(p.Instance), 10)
		e.labels = append(e.labels, '"')
		e.ends = append(e.ends, len(e.labels))
	}
	e.perProcess(procs, "gpm_process_up", "1 when the process runs (launching, online or stopping), else 0.", gauge,
		func(p *MetricsProcess) float64 { return b2f(running(p.Status)) })
	if len(procs) > 0 {
		const status = "gpm_process_status"
		e.head(status, "1 for the process's current status, 0 for the others.", gauge)
		for i := range procs {
			for _, st := range statuses {
				e.sample(status, i, "status", st)
				e.value(b2f(procs[i].Status == st))
			}
		}
	}
	e.perProcess(procs, "gpm_process_ready", "1 when the process is online (ready, with wait_ready), else 0.", gauge,
		func(p *MetricsProcess) float64 { return b2f(p.Status == api.StatusOnline) })
	e.perProcess(procs, "gpm_process_cpu_seconds_total", "CPU time used by the process's tree in its current run, in seconds.", counter,
		func(p *MetricsProcess) float64 { return p.CPUSeconds })
	e.perProcess(procs, "gpm_process_memory_bytes", "Memory of the process's tree (its cgroup, or the RSS of its members), in bytes.", gauge,
		func(p *MetricsProcess) float64 { return float64(p.Memory) })
	e.perProcess(procs, "gpm_process_restarts_total", "Restarts of the process since it was added or reset.", counter,
		func(p *MetricsProcess) float64 { return float64(p.Restarts) })
	e.perProcess(procs, "gpm_process_unstable_restarts_total", "Restarts of the process that followed a run shorter than min_uptime.", counter,
		func(p *MetricsProcess) float64 { return float64(p.UnstableRestarts) })
	e.perProcess(procs, "gpm_process_start_time_seconds", "Start of the process's current run, in seconds since the epoch; 0 when it does not run.", gauge,
		func(p *MetricsProcess) float64 {
			if running(p.Status) {
				return p.StartTime
			}
			return 0
		})

	e.one("gpm_processes", "Processes the daemon supervises, all apps together.", gauge, float64(len(procs)))
	e.one("gpm_build_info", "The daemon's version, as a label; always 1.", gauge, 1, "version", s.version, "goversion", runtime.Version())
	e.one("gpm_web_requests_total", "HTTP requests the API received.", counter, float64(s.stats.requests.Load()))
	e.one("gpm_web_requests_refused_total", "HTTP requests refused by the access rules (token, Host).", counter, float64(s.stats.refused.Load()))
	e.one("gpm_web_event_streams", "Event streams (GET /api/events) open.", gauge, float64(s.stats.streams.Load()))
	e.one("gpm_web_event_streams_dropped_total", "Event streams closed because their reader fell web.ClientQueue events behind.", counter, float64(s.stats.streamsDropped.Load()))
	e.one("gpm_events_dropped_total", "Events the daemon dropped from the API's subscription because it read too slowly.", counter, float64(s.stats.subscriptionLost.Load()))
	if ds != nil {
		e.one("gpm_control_connections", "Open connections of the control socket.", gauge, float64(ds.ControlConnections))
		e.one("gpm_event_subscribers", "Event subscribers of the daemon (gpm logs, the API's own subscription, ...).", gauge, float64(ds.Subscribers))
		e.one("gpm_event_queued_bytes", "Bytes of events queued for all subscribers (a subscriber over its budget loses events).", gauge, float64(ds.QueuedEventBytes))
	}

	// The daemon's own figures, under client_golang's names: its Go collector's and, where the system tells them
	// (processFigures), its process collector's.
	rs := [...]metrics.Sample{
		{Name: "/sched/goroutines:goroutines"},
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/total:bytes"},
		{Name: "/gc/cycles/total:gc-cycles"},
	}
	metrics.Read(rs[:])
	value := func(i int) float64 {
		if rs[i].Value.Kind() == metrics.KindUint64 {
			return float64(rs[i].Value.Uint64())
		}
		return 0
	}
	e.one("go_goroutines", "Number of goroutines that currently exist.", gauge, value(0))
	e.one("go_memstats_heap_alloc_bytes", "Number of heap bytes allocated and still in use.", gauge, value(1))
	e.one("go_memstats_sys_bytes", "Number of bytes obtained from system.", gauge, value(2))
	e.one("go_gc_cycles_total", "Completed GC cycles.", counter, value(3))
	e.one("go_info", "Information about the Go environment.", gauge, 1, "version", runtime.Version())
	for _, p := range processFigures() {
		typ := gauge
		if p.counter {
			typ = counter
		}
		e.one(p.name, p.help, typ, p.value)
	}
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
