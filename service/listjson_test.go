package service

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gpmd/gpm/api"
	"github.com/gpmd/gpm/config"
)

// processList encodes as encoding/json encodes []api.Process, byte for byte: every field in its place, strings
// with every kind of escape, times in several zones, floats on both sides of the exponent cutoffs, nil and set
// pointers, empty and set omitempty fields.
func TestAppendProcess(t *testing.T) {
	pieces := []string{"", "a", "web-1", `"`, `\`, "\n", "\r", "\t", "\b", "\f", "\x00", "\x01", "\x1f", "\x7f",
		"<&>", "é", "日本", "\u2028", "\u2029", "\xff", "\xe2\x80", "\xed\xa0\x80", "😀", "\U0010FFFF", "{}", "'", "/"}
	rnd := rand.New(rand.NewPCG(3, 4))
	str := func() string {
		var sb strings.Builder
		for range rnd.IntN(5) {
			sb.WriteString(pieces[rnd.IntN(len(pieces))])
		}
		return sb.String()
	}
	floats := []float64{0, 1, -1, 0.5, 12.345678, 100, 1e-6, 9.99e-7, 1e-7, 1.5e-9, 1e20, 1e21, 1.2345e22, 123456789.125,
		math.SmallestNonzeroFloat64, math.MaxFloat64, 1.0 / 3}
	times := func() *time.Time {
		if rnd.IntN(3) == 0 {
			return nil
		}
		t := time.Unix(rnd.Int64N(1<<34), rnd.Int64N(1e9)*int64(rnd.IntN(2))).In(time.FixedZone("", 60*(rnd.IntN(1500)-750)))
		return &t
	}
	var list []api.Process
	var configs [][]byte
	for i := range 3000 {
		p := api.Process{ID: rnd.IntN(5000) - 1, Name: str(), Namespace: str(), PID: rnd.IntN(1 << 22), Status: str(),
			Restarts: rnd.IntN(3) * rnd.IntN(1<<20), UnstableRestarts: rnd.IntN(4), ExitSignal: str(), Instance: rnd.IntN(1024),
			Mode: str(), UptimeMS: rnd.Int64N(1 << 40), StartedAt: times(), CPU: floats[rnd.IntN(len(floats))],
			Memory: rnd.Uint64() >> rnd.IntN(64), CPUSeconds: floats[rnd.IntN(len(floats))], Containment: str(),
			ContainmentReason: str(), Cgroup: str(), Reason: str(), StatusText: str(), NextRestart: times(),
			OutLog: str(), ErrLog: str(), CombinedLog: str()}
		if t := times(); t != nil {
			p.CreatedAt = *t
		}
		if rnd.IntN(2) == 0 {
			c := rnd.IntN(300) - 150
			p.ExitCode = &c
		}
		if i%2 == 0 {
			p.CPU, p.CPUSeconds = -p.CPU, -p.CPUSeconds
		}
		p.Config = config.App{Name: p.Name, Namespace: p.Namespace, Script: str(), Args: []string{str(), str()}, Cwd: str(),
			Instances: rnd.IntN(4), Env: map[string]string{str(): str(), "B": str()}}
		cfg, err := json.Marshal(&p.Config)
		if err != nil {
			t.Fatal(err)
		}
		list = append(list, p)
		configs = append(configs, cfg)
	}
	// process() gives back the record (snapshot goes through it).
	for _, p := range list {
		info := infoOf(p)
		q := info.process()
		q.Config = p.Config
		if !reflect.DeepEqual(p, q) {
			t.Fatalf("procInfo round trip:\n got %+v\nwant %+v", q, p)
		}
	}
	for _, n := range []int{0, 1, 2, len(list)} {
		pl := processList{fields: allFields}
		for i := range n {
			rec := list[i]
			rec.Config = config.App{}
			pl.procs = append(pl.procs, listed{procInfo: infoOf(rec), config: configs[i]})
		}
		want, err := json.Marshal(append([]api.Process{}, list[:n]...))
		if err != nil {
			t.Fatal(err)
		}
		sameJSON(t, fmt.Sprintf("%d processes", n), pl.AppendJSON(nil), want)
	}
	// Some members only (api.ListParams.Fields): as encoding/json encodes a struct of those fields alone.
	for range 50 {
		fields := fieldSet(rnd.Uint32()) & allFields
		if rnd.IntN(5) == 0 {
			fields = fieldsOf([]string{"id", "name", "namespace", "mode", "pid", "uptime_ms", "restarts", "status", "status_text", "cpu", "memory"})
		}
		typ := reflect.TypeFor[api.Process]()
		var sfs []reflect.StructField
		var idx []int
		for i := range typ.NumField() {
			if fields.has(i) {
				sfs = append(sfs, typ.Field(i))
				idx = append(idx, i)
			}
		}
		sub := reflect.StructOf(sfs)
		want := reflect.MakeSlice(reflect.SliceOf(sub), 0, 100)
		pl := processList{fields: fields}
		for i := range 100 {
			v := reflect.New(sub).Elem()
			for j, k := range idx {
				v.Field(j).Set(reflect.ValueOf(list[i]).Field(k))
			}
			want = reflect.Append(want, v)
			pl.procs = append(pl.procs, listed{procInfo: infoOf(list[i]), config: configs[i]})
		}
		w, err := json.Marshal(want.Interface())
		if err != nil {
			t.Fatal(err)
		}
		sameJSON(t, fmt.Sprintf("fields %b", fields), pl.AppendJSON(nil), w)
	}
}

// infoOf is the procInfo whose process() is p, without its Config.
func infoOf(p api.Process) procInfo {
	i := procInfo{ID: p.ID, Name: p.Name, Namespace: p.Namespace, PID: p.PID, Status: p.Status, Restarts: p.Restarts,
		UnstableRestarts: p.UnstableRestarts, ExitSignal: p.ExitSignal, Instance: p.Instance, Mode: p.Mode,
		UptimeMS: p.UptimeMS, CreatedAt: p.CreatedAt, CPU: p.CPU, Memory: p.Memory, CPUSeconds: p.CPUSeconds,
		Containment: p.Containment, ContainmentReason: p.ContainmentReason, Cgroup: p.Cgroup, Reason: p.Reason,
		StatusText: p.StatusText, OutLog: p.OutLog, ErrLog: p.ErrLog, CombinedLog: p.CombinedLog}
	if p.ExitCode != nil {
		i.ExitCode, i.Exited = *p.ExitCode, true
	}
	if p.StartedAt != nil {
		i.StartedAt, i.Started = *p.StartedAt, true
	}
	if p.NextRestart != nil {
		i.NextRestart = *p.NextRestart
	}
	return i
}

func sameJSON(t *testing.T, what string, got, want []byte) {
	t.Helper()
	if string(got) == string(want) {
		return
	}
	i := 0
	for i < min(len(got), len(want)) && got[i] == want[i] {
		i++
	}
	t.Fatalf("%s differ at byte %d:\n got …%s\nwant …%s", what, i, got[max(0, i-80):min(len(got), i+80)],
		want[max(0, i-80):min(len(want), i+80)])
}

// fieldsOf takes JSON names, ignores the unknown, and means all of them when given none.
func TestFieldsOf(t *testing.T) {
	if fieldsOf(nil) != allFields || fieldsOf([]string{}) != allFields {
		t.Fatal("no names: not every field")
	}
	if got := fieldsOf([]string{"id", "config", "nope"}); got != 1|1<<fConfig {
		t.Fatalf("id, config, nope: %b", got)
	}
	if got := fieldsOf([]string{"nope"}); got != 0 {
		t.Fatalf("nope: %b", got)
	}
}

// processFields names every member of api.Process, in order: a field added there and not here fails this test
// (the random records above leave a new field zero, which may encode as nothing).
func TestAppendProcessFields(t *testing.T) {
	typ := reflect.TypeFor[api.Process]()
	var names []string
	for i := range typ.NumField() {
		name, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
		names = append(names, name)
	}
	if !reflect.DeepEqual(names, processFields[:]) {
		t.Fatalf("api.Process has members %v; appendProcess (listjson.go) encodes %v: add the new ones there, in order", names, processFields)
	}
	if processFields[fConfig] != "config" {
		t.Fatalf("fConfig is %d, config is not there", fConfig)
	}
}

// The configuration is encoded once, and again after a change.
func TestAppJSONCache(t *testing.T) {
	p := &proc{app: config.App{Name: "a", Instances: 1}}
	first := p.appJSON()
	if string(first) != string(p.appJSON()) || &first[0] != &p.appJSON()[0] {
		t.Fatal("appJSON encoded the configuration again without a change")
	}
	p.app.Instances = 3
	p.appChanged()
	want, _ := json.Marshal(&p.app)
	if got := p.appJSON(); string(got) != string(want) {
		t.Fatalf("after a change: %s, want %s", got, want)
	}
}

// benchList is n processes as a daemon of sleeping apps lists them.
func benchList(n int) ([]api.Process, processList) {
	started := time.Date(2026, 12, 5, 4, 57, 53, 188445023, time.UTC)
	var full []api.Process
	pl := processList{fields: allFields}
	for i := range n {
		p := api.Process{ID: i, Name: fmt.Sprintf("s%d", i+1), Namespace: "default", PID: 1436 + i, Status: "online",
			Mode: "fork", UptimeMS: 90078, StartedAt: &started, CreatedAt: started, Memory: 1851392, CPUSeconds: 0.004577,
			Containment: "cgroup", ContainmentReason: "/sys/fs/cgroup/unified/gpm-60dfd5cc16ff, root: cgroup /gpm-60dfd5cc16ff of its own (the daemon's cgroup / is not delegated) (no controllers)",
			Cgroup: fmt.Sprintf("/sys/fs/cgroup/unified/gpm-60dfd5cc16ff/app-s%d-%d", i+1, i), OutLog: "/tmp/jl/home/logs/s1-out.log",
			ErrLog: "/tmp/jl/home/logs/s1-error.log",
			Config: config.App{Name: fmt.Sprintf("s%d", i+1), Namespace: "default", Script: "/bin/sleep", Args: []string{"100000"},
				Cwd: "/tmp/jl", Instances: 1, ExecMode: "fork", InstanceVar: "NODE_APP_INSTANCE", Autorestart: true,
				MaxRestarts: 16, KillSignal: "SIGINT"}}
		cfg, _ := json.Marshal(&p.Config)
		full = append(full, p)
		pl.procs = append(pl.procs, listed{procInfo: infoOf(p), config: cfg})
	}
	return full, pl
}

// The encoding of a list of 1000 processes: encoding/json's (what the daemon did before issue 13) and the hand
// encoder's into a buffer kept between answers (what it does).
func BenchmarkListEncode1000(b *testing.B) {
	full, pl := benchList(1000)
	b.Run("encoding-json", func(b *testing.B) {
		for b.Loop() {
			if _, err := json.Marshal(full); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("append", func(b *testing.B) {
		var buf []byte
		for b.Loop() {
			buf = pl.AppendJSON(buf[:0])
		}
		b.SetBytes(int64(len(buf)))
	})
	b.Run("append-rows", func(b *testing.B) {
		rows := pl
		rows.fields = fieldsOf([]string{"id", "name", "namespace", "pid", "status", "restarts", "mode", "uptime_ms", "cpu", "memory", "status_text"})
		var buf []byte
		for b.Loop() {
			buf = rows.AppendJSON(buf[:0])
		}
		b.SetBytes(int64(len(buf)))
	})
}
