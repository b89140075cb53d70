package export

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/gpmd/gpm/config"
)

// Nomad renders, for each app, NAME.nomad.json: a job in Nomad's API JSON (submit it with `nomad job run -json
// NAME.nomad.json`; `nomad job run -output` turns HCL into it, there is no way back, which is why JSON). One task
// group of count = instances; its task runs `gpm run` in the image (docker driver) on the app's process file, which
// the job carries as a template (local/NAME.json), so that READY=1, LISTEN_FDS and the restart policy work as
// under gpm; the tcp and udp listen ports are reserved (static: the app binds them) and registered as Nomad
// services; env, the memory limit (max_memory_restart, else memory_max) and the stop (SIGTERM to gpm run, which
// forwards the app's kill_signal; kill_timeout) carry over.
func Nomad(apps []config.App, o Options) ([]File, error) {
	return perApp(apps, ".nomad.json", func(a *config.App) ([]byte, error) { return nomadApp(a, o) })
}

// The API JSON of a job (github.com/hashicorp/nomad/api: Job, TaskGroup, Task), the fields the export sets. Not the
// nomad module itself: it would bring its dependencies into gpm's binary.
type nomadJob struct {
	ID          string            `json:"ID"`
	Name        string            `json:"Name"`
	Type        string            `json:"Type"`
	Datacenters []string          `json:"Datacenters"`
	Meta        map[string]string `json:"Meta,omitempty"`
	TaskGroups  []nomadTaskGroup  `json:"TaskGroups"`
}

type nomadTaskGroup struct {
	Name     string         `json:"Name"`
	Count    int            `json:"Count"`
	Networks []nomadNetwork `json:"Networks,omitempty"`
	Services []nomadService `json:"Services,omitempty"`
	Tasks    []nomadTask    `json:"Tasks"`
}

type nomadNetwork struct {
	ReservedPorts []nomadPort `json:"ReservedPorts"`
}

type nomadPort struct {
	Label string `json:"Label"`
	Value int    `json:"Value"`
	To    int    `json:"To"`
}

type nomadService struct {
	Name      string `json:"Name"`
	PortLabel string `json:"PortLabel"`
	Provider  string `json:"Provider"`
}

type nomadTask struct {
	Name        string            `json:"Name"`
	Driver      string            `json:"Driver"`
	Config      map[string]any    `json:"Config"`
	Env         map[string]string `json:"Env,omitempty"`
	Templates   []nomadTemplate   `json:"Templates"`
	KillSignal  string            `json:"KillSignal"`
	KillTimeout int64             `json:"KillTimeout"` // nanoseconds
	Resources   *nomadResources   `json:"Resources,omitempty"`
}

type nomadTemplate struct {
	EmbeddedTmpl string `json:"EmbeddedTmpl"`
	DestPath     string `json:"DestPath"`
	ChangeMode   string `json:"ChangeMode"`
	// The process file is not a template: delimiters it cannot hold keep consul-template from reading {{ in it.
	LeftDelim  string `json:"LeftDelim"`
	RightDelim string `json:"RightDelim"`
}

type nomadResources struct {
	CPU      int `json:"CPU,omitempty"` // MHz
	MemoryMB int `json:"MemoryMB,omitempty"`
}

func nomadApp(a *config.App, o Options) ([]byte, error) {
	name := k8sName(a.Name)
	inet, _, err := ports(a)
	if err != nil {
		return nil, err
	}
	runFile, err := runProcessFile(a)
	if err != nil {
		return nil, err
	}
	file := name + ".json"
	task := nomadTask{
		Name:   name,
		Driver: "docker",
		Config: map[string]any{
			"image":   image(a, o),
			"command": "gpm",
			"args":    []string{"run", "/local/" + file},
		},
		Env: a.Env,
		Templates: []nomadTemplate{{EmbeddedTmpl: string(runFile), DestPath: "local/" + file, ChangeMode: "restart",
			LeftDelim: "[[gpm-export:", RightDelim: ":gpm-export]]"}},
		KillSignal:  "SIGTERM",
		KillTimeout: int64(a.KillTimeout.D() + stopGrace*time.Second),
	}
	if a.Cwd != "" {
		task.Config["work_dir"] = a.Cwd
	}
	mem := a.MaxMemoryRestart
	if mem <= 0 {
		mem = a.MemoryMax
	}
	if mem > 0 {
		task.Resources = &nomadResources{MemoryMB: int((mem + 1<<20 - 1) >> 20)}
	}
	g := nomadTaskGroup{Name: name, Count: max(a.Instances, 1)}
	if len(inet) > 0 {
		var n nomadNetwork
		var labels []string
		for _, p := range inet {
			n.ReservedPorts = append(n.ReservedPorts, nomadPort{Label: p.Name, Value: p.Port, To: p.Port})
			g.Services = append(g.Services, nomadService{Name: name + "-" + p.Name, PortLabel: p.Name, Provider: "nomad"})
			labels = append(labels, p.Name)
		}
		g.Networks = []nomadNetwork{n}
		task.Config["ports"] = labels
	}
	g.Tasks = []nomadTask{task}
	job := nomadJob{ID: name, Name: name, Type: "service", Datacenters: []string{"*"},
		Meta: map[string]string{"exported-by": "gpm export nomad", "gpm-app": a.Name}, TaskGroups: []nomadTaskGroup{g}}
	b, err := json.MarshalIndent(map[string]any{"Job": job}, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("export %s: %w", a.Name, err)
	}
	return append(b, '\n'), nil
}
