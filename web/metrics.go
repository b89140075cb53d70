package web

import (
	"bufio"
	"net/http"
	"runtime"
	"runtime/metrics"
	"strconv"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/gpmd/gpm/api"
)

// The metrics are written with the official exposition package (prometheus/common/expfmt) from the families this
// file builds, not through client_golang's registry and collectors: measured in a minimal server, the full client
// (registry, Go and process collectors) cost 4.5 MB of RSS and 3.4 MB of binary, expfmt alone 2.4 MB and 2.5 MB
// (BENCHMARKS.md, issue 9). The Go runtime and process figures therefore come from runtime/metrics and /proc here,
// under client_golang's names.

// statuses are the values of gpm_process_status's status label: one series per status, 1 on the current one
// (a state set, as node_exporter's node_systemd_unit_state).
var statuses = []string{api.StatusLaunching, api.StatusOnline, api.StatusStopping, api.StatusStopped, api.StatusWaiting, api.StatusErrored}

// handleMetrics answers GET /metrics in the Prometheus text format 0.0.4.
func (s *Server) handleMetrics(w http.ResponseWriter, r *http.Request) {
	var list []api.Process
	if err := s.caller.Call(r.Context(), api.MethodList, nil, &list); err != nil {
		s.fail(w, err)
		return
	}
	fams := s.families(list)
	w.Header().Set("Content-Type", string(expfmt.FmtText))
	bw := bufio.NewWriterSize(w, 32<<10)
	for _, f := range fams {
		if len(f.Metric) == 0 {
			continue
		}
		if _, err := expfmt.MetricFamilyToText(bw, f); err != nil {
			s.log.Printf("web: /metrics: %v", err)
			return
		}
	}
	bw.Flush()
}

func (s *Server) families(list []api.Process) []*dto.MetricFamily {
	gauge, counter := dto.MetricType_GAUGE, dto.MetricType_COUNTER
	fam := func(name, help string, t dto.MetricType) *dto.MetricFamily {
		return &dto.MetricFamily{Name: &name, Help: &help, Type: &t}
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
		labels := []*dto.LabelPair{label("name", p.Name), label("namespace", p.Namespace), label("id", strconv.Itoa(p.ID)),
			label("instance", strconv.Itoa(p.Instance))}
		running := p.Status == api.StatusLaunching || p.Status == api.StatusOnline || p.Status == api.StatusStopping
		up.Metric = append(up.Metric, gaugeOf(labels, b2f(running)))
		ready.Metric = append(ready.Metric, gaugeOf(labels, b2f(p.Status == api.StatusOnline)))
		for _, st := range statuses {
			status.Metric = append(status.Metric, gaugeOf(append(labels[:len(labels):len(labels)], label("status", st)), b2f(p.Status == st)))
		}
		cpu.Metric = append(cpu.Metric, counterOf(labels, p.CPUSeconds))
		mem.Metric = append(mem.Metric, gaugeOf(labels, float64(p.Memory)))
		restarts.Metric = append(restarts.Metric, counterOf(labels, float64(p.Restarts)))
		unstable.Metric = append(unstable.Metric, counterOf(labels, float64(p.UnstableRestarts)))
		var t float64
		if running && p.StartedAt != nil {
			t = float64(p.StartedAt.UnixNano()) / 1e9
		}
		start.Metric = append(start.Metric, gaugeOf(labels, t))
	}
	procs := fam("gpm_processes", "Processes the daemon supervises, all apps together.", gauge)
	procs.Metric = []*dto.Metric{gaugeOf(nil, float64(len(list)))}
	build := fam("gpm_build_info", "The daemon's version, as a label; always 1.", gauge)
	build.Metric = []*dto.Metric{gaugeOf([]*dto.LabelPair{label("version", s.version), label("goversion", runtime.Version())}, 1)}
	reqs := fam("gpm_web_requests_total", "HTTP requests the API received.", counter)
	reqs.Metric = []*dto.Metric{counterOf(nil, float64(s.stats.requests.Load()))}
	refused := fam("gpm_web_requests_refused_total", "HTTP requests refused by the access rules (token, Host).", counter)
	refused.Metric = []*dto.Metric{counterOf(nil, float64(s.stats.refused.Load()))}
	streams := fam("gpm_web_event_streams", "Event streams (GET /api/events) open.", gauge)
	streams.Metric = []*dto.Metric{gaugeOf(nil, float64(s.stats.streams.Load()))}
	sdropped := fam("gpm_web_event_streams_dropped_total", "Event streams closed because their reader fell ClientQueue events behind.", counter)
	sdropped.Metric = []*dto.Metric{counterOf(nil, float64(s.stats.streamsDropped.Load()))}
	edropped := fam("gpm_events_dropped_total", "Events the daemon dropped from the API's subscription because it read too slowly.", counter)
	edropped.Metric = []*dto.Metric{counterOf(nil, float64(s.stats.subscriptionLost.Load()))}

	fams := []*dto.MetricFamily{up, status, ready, cpu, mem, restarts, unstable, start, procs, build, reqs, refused, streams, sdropped, edropped}
	return append(fams, runtimeFamilies()...)
}

// runtimeFamilies are the daemon's own figures under client_golang's names: its Go collector's and, where the
// system tells them (processFamilies), its process collector's.
func runtimeFamilies() []*dto.MetricFamily {
	gauge, counter := dto.MetricType_GAUGE, dto.MetricType_COUNTER
	samples := []metrics.Sample{
		{Name: "/sched/goroutines:goroutines"},
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/total:bytes"},
		{Name: "/gc/cycles/total:gc-cycles"},
	}
	metrics.Read(samples)
	value := func(i int) float64 {
		if samples[i].Value.Kind() == metrics.KindUint64 {
			return float64(samples[i].Value.Uint64())
		}
		return 0
	}
	one := func(name, help string, t dto.MetricType, v float64) *dto.MetricFamily {
		m := &dto.Metric{}
		if t == counter {
			m.Counter = &dto.Counter{Value: &v}
		} else {
			m.Gauge = &dto.Gauge{Value: &v}
		}
		return &dto.MetricFamily{Name: &name, Help: &help, Type: &t, Metric: []*dto.Metric{m}}
	}
	info := one("go_info", "Information about the Go environment.", gauge, 1)
	info.Metric[0].Label = []*dto.LabelPair{label("version", runtime.Version())}
	fams := []*dto.MetricFamily{
		one("go_goroutines", "Number of goroutines that currently exist.", gauge, value(0)),
		one("go_memstats_heap_alloc_bytes", "Number of heap bytes allocated and still in use.", gauge, value(1)),
		one("go_memstats_sys_bytes", "Number of bytes obtained from system.", gauge, value(2)),
		one("go_gc_cycles_total", "Completed GC cycles.", counter, value(3)),
		info,
	}
	for _, p := range processFamilies() {
		fams = append(fams, one(p.name, p.help, map[bool]dto.MetricType{true: counter, false: gauge}[p.counter], p.value))
	}
	return fams
}

// processFigure is one of the process collector's figures (process_*).
type processFigure struct {
	name, help string
	counter    bool
	value      float64
}

func label(name, value string) *dto.LabelPair { return &dto.LabelPair{Name: &name, Value: &value} }

func gaugeOf(labels []*dto.LabelPair, v float64) *dto.Metric {
	return &dto.Metric{Label: labels, Gauge: &dto.Gauge{Value: &v}}
}

func counterOf(labels []*dto.LabelPair, v float64) *dto.Metric {
	return &dto.Metric{Label: labels, Counter: &dto.Counter{Value: &v}}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
