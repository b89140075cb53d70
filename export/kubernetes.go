package export

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/gpmd/gpm/activation"
	"github.com/gpmd/gpm/config"
)

// runFileDir is where the Kubernetes and Nomad exports put the app's process file for gpm run.
const runFileDir = "/etc/gpm"

// stopGrace is what the exports add to an app's kill_timeout for gpm run's own stop (the platform's SIGTERM to
// gpm run, forwarded as the app's kill_signal, SIGKILL at kill_timeout; then gpm run exits).
const stopGrace = 5

// Kubernetes renders, for each app, NAME.yaml: a ConfigMap holding the app's process file, a Deployment whose
// pods run `gpm run` on it (replicas = instances, one instance a pod: gpm run keeps READY=1, LISTEN_FDS, the
// restart policy and the logs on stdout working as under gpm), its env, memory limit (max_memory_restart, else
// memory_max) and cpu limit (cpu_quota), and a Service for its tcp and udp listen ports. Addresses bound to one
// host are bound to every address in the pod (a Service cannot reach 127.0.0.1). The image (Options.Image) must
// hold gpm and the app at its cwd.
func Kubernetes(apps []config.App, o Options) ([]File, error) {
	return perApp(apps, ".yaml", func(a *config.App) ([]byte, error) { return kubernetesApp(a, o) })
}

// perApp renders each app of apps (Apps: instances as one) into a file of its own, named after it with suffix.
func perApp(apps []config.App, suffix string, render func(*config.App) ([]byte, error)) ([]File, error) {
	if len(apps) == 0 {
		return nil, ErrNoApps
	}
	var files []File
	for _, a := range Apps(apps) {
		data, err := render(&a)
		if err != nil {
			return nil, err
		}
		files = append(files, File{Name: k8sName(a.Name) + suffix, Data: data})
	}
	return files, nil
}

type k8sMeta struct {
	Name   string            `yaml:"name"`
	Labels map[string]string `yaml:"labels,omitempty"`
}

type k8sConfigMap struct {
	APIVersion string            `yaml:"apiVersion"`
	Kind       string            `yaml:"kind"`
	Metadata   k8sMeta           `yaml:"metadata"`
	Data       map[string]string `yaml:"data"`
}

type k8sDeployment struct {
	APIVersion string  `yaml:"apiVersion"`
	Kind       string  `yaml:"kind"`
	Metadata   k8sMeta `yaml:"metadata"`
	Spec       struct {
		Replicas int `yaml:"replicas"`
		Selector struct {
			MatchLabels map[string]string `yaml:"matchLabels"`
		} `yaml:"selector"`
		Template struct {
			Metadata struct {
				Labels map[string]string `yaml:"labels"`
			} `yaml:"metadata"`
			Spec k8sPodSpec `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

type k8sPodSpec struct {
	TerminationGracePeriodSeconds int            `yaml:"terminationGracePeriodSeconds"`
	Containers                    []k8sContainer `yaml:"containers"`
	Volumes                       []k8sVolume    `yaml:"volumes"`
}

type k8sContainer struct {
	Name         string           `yaml:"name"`
	Image        string           `yaml:"image"`
	Command      []string         `yaml:"command"`
	WorkingDir   string           `yaml:"workingDir,omitempty"`
	Env          []k8sEnv         `yaml:"env,omitempty"`
	Ports        []k8sPort        `yaml:"ports,omitempty"`
	Resources    *k8sResources    `yaml:"resources,omitempty"`
	VolumeMounts []k8sVolumeMount `yaml:"volumeMounts"`
}

type k8sEnv struct {
	Name  string `yaml:"name"`
	Value string `yaml:"value"`
}

type k8sPort struct {
	Name          string `yaml:"name"`
	ContainerPort int    `yaml:"containerPort"`
	Protocol      string `yaml:"protocol"`
}

type k8sResources struct {
	Limits map[string]string `yaml:"limits"`
}

type k8sVolumeMount struct {
	Name      string `yaml:"name"`
	MountPath string `yaml:"mountPath"`
	ReadOnly  bool   `yaml:"readOnly"`
}

type k8sVolume struct {
	Name      string `yaml:"name"`
	ConfigMap struct {
		Name string `yaml:"name"`
	} `yaml:"configMap"`
}

type k8sService struct {
	APIVersion string  `yaml:"apiVersion"`
	Kind       string  `yaml:"kind"`
	Metadata   k8sMeta `yaml:"metadata"`
	Spec       struct {
		Selector map[string]string `yaml:"selector"`
		Ports    []k8sServicePort  `yaml:"ports"`
	} `yaml:"spec"`
}

type k8sServicePort struct {
	Name       string `yaml:"name"`
	Port       int    `yaml:"port"`
	TargetPort string `yaml:"targetPort"`
	Protocol   string `yaml:"protocol"`
}

func kubernetesApp(a *config.App, o Options) ([]byte, error) {
	name := k8sName(a.Name)
	inet, _, err := ports(a)
	if err != nil {
		return nil, err
	}
	runFile, err := runProcessFile(a)
	if err != nil {
		return nil, err
	}
	labels := map[string]string{"app.kubernetes.io/name": name}
	fileName := name + ".json"

	cm := k8sConfigMap{APIVersion: "v1", Kind: "ConfigMap", Metadata: k8sMeta{Name: name + "-gpm",
		Labels: map[string]string{"app.kubernetes.io/name": name, "app.kubernetes.io/managed-by": "gpm"}},
		Data: map[string]string{fileName: string(runFile)}}

	var d k8sDeployment
	d.APIVersion, d.Kind = "apps/v1", "Deployment"
	d.Metadata = k8sMeta{Name: name, Labels: map[string]string{"app.kubernetes.io/name": name, "app.kubernetes.io/managed-by": "gpm"}}
	d.Spec.Replicas = max(a.Instances, 1)
	d.Spec.Selector.MatchLabels = labels
	d.Spec.Template.Metadata.Labels = labels
	c := k8sContainer{Name: name, Image: image(a, o), Command: []string{"gpm", "run", runFileDir + "/" + fileName},
		WorkingDir: a.Cwd, VolumeMounts: []k8sVolumeMount{{Name: "gpm", MountPath: runFileDir, ReadOnly: true}}}
	for _, k := range sortedKeys(a.Env) {
		// The kubelet expands a value: $(NAME) becomes another variable's value and $$ one $ (EnvVar.value);
		// every $ doubled reaches the app as written.
		c.Env = append(c.Env, k8sEnv{Name: k, Value: strings.ReplaceAll(a.Env[k], "$", "$$")})
	}
	for _, p := range inet {
		c.Ports = append(c.Ports, k8sPort{Name: p.Name, ContainerPort: p.Port, Protocol: p.Protocol})
	}
	limits := map[string]string{}
	if m := a.MaxMemoryRestart; m > 0 {
		limits["memory"] = strconv.FormatInt(m, 10)
	} else if m := a.MemoryMax; m > 0 {
		limits["memory"] = strconv.FormatInt(m, 10)
	}
	if a.CPUQuota > 0 {
		limits["cpu"] = fmt.Sprintf("%dm", a.CPUQuota*10)
	}
	if len(limits) > 0 {
		c.Resources = &k8sResources{Limits: limits}
	}
	spec := &d.Spec.Template.Spec
	spec.TerminationGracePeriodSeconds = int((a.KillTimeout.D().Seconds())+0.999) + stopGrace
	spec.Containers = []k8sContainer{c}
	v := k8sVolume{Name: "gpm"}
	v.ConfigMap.Name = cm.Metadata.Name
	spec.Volumes = []k8sVolume{v}

	var b bytes.Buffer
	fmt.Fprintf(&b, "# %s.yaml: exported by gpm export kubernetes from the app %q.\n", name, a.Name)
	for _, u := range unsupported(a) {
		if !strings.HasPrefix(u, "log files") && !strings.HasPrefix(u, "cron") && u != "shutdown_with_message" {
			fmt.Fprintf(&b, "# Not carried over: %s.\n", u)
		}
	}
	docs := []any{cm, d}
	if len(inet) > 0 {
		var s k8sService
		s.APIVersion, s.Kind = "v1", "Service"
		s.Metadata = k8sMeta{Name: name, Labels: map[string]string{"app.kubernetes.io/name": name, "app.kubernetes.io/managed-by": "gpm"}}
		s.Spec.Selector = labels
		for _, p := range inet {
			s.Spec.Ports = append(s.Spec.Ports, k8sServicePort{Name: p.Name, Port: p.Port, TargetPort: p.Name, Protocol: p.Protocol})
		}
		docs = append(docs, s)
	}
	for i, doc := range docs {
		if i > 0 {
			b.WriteString("---\n")
		}
		enc := yaml.NewEncoder(&b)
		enc.SetIndent(2)
		if err := enc.Encode(doc); err != nil {
			return nil, fmt.Errorf("export %s: %w", a.Name, err)
		}
		if err := enc.Close(); err != nil {
			return nil, fmt.Errorf("export %s: %w", a.Name, err)
		}
	}
	return b.Bytes(), nil
}

// image is the container image of a.
func image(a *config.App, o Options) string {
	if o.Image != "" {
		return o.Image
	}
	return k8sName(a.Name) + ":latest"
}

// runProcessFile is the process file gpm run gets in a container or a Nomad task: the app with one instance (the
// platform runs the copies), without its env (the platform's own env setting holds it, and gpm run passes its
// environment on), its tcp and udp addresses bound on every address, its log files left to gpm's defaults.
func runProcessFile(a *config.App) ([]byte, error) {
	c := a.Clone()
	c.Instances = 1
	c.Env = nil
	c.OutFile, c.ErrorFile, c.LogFile, c.PidFile = "", "", "", ""
	for i, l := range c.Listen {
		s, err := activation.ParseSpec(l)
		if err != nil || !slices.Contains([]string{"tcp", "tcp4", "tcp6", "udp", "udp4", "udp6"}, s.Network) {
			continue
		}
		_, p, err := net.SplitHostPort(s.Address)
		if err != nil {
			continue
		}
		named := s.Name != s.Address
		s.Address = ":" + p
		if c.Listen[i] = s.String(); named {
			c.Listen[i] = s.Name + "=" + c.Listen[i]
		}
	}
	b, err := json.MarshalIndent(map[string][]config.App{"apps": {c}}, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("export %s: process file: %w", a.Name, err)
	}
	return append(b, '\n'), nil
}
