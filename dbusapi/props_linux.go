package dbusapi

import (
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/gpmd/gpm/api"
)

// processProps are io.gpm.Process1's properties of p (xml.go lists them with their types; docs/DBUS.md says what
// they mean). Times are µs since the epoch, 0 for none, as systemd's …Timestamp properties.
func processProps(p *api.Process) map[string]dbus.Variant {
	exit := int32(-1)
	if p.ExitCode != nil {
		exit = int32(*p.ExitCode)
	}
	m := map[string]dbus.Variant{
		"Id":                   dbus.MakeVariant(uint32(p.ID)),
		"Name":                 dbus.MakeVariant(p.Name),
		"Instance":             dbus.MakeVariant(uint32(p.Instance)),
		"CreatedTimestamp":     dbus.MakeVariant(usec(&p.CreatedAt)),
		"Namespace":            dbus.MakeVariant(p.Namespace),
		"Mode":                 dbus.MakeVariant(p.Mode),
		"Status":               dbus.MakeVariant(p.Status),
		"PID":                  dbus.MakeVariant(uint32(p.PID)),
		"Restarts":             dbus.MakeVariant(uint32(p.Restarts)),
		"UnstableRestarts":     dbus.MakeVariant(uint32(p.UnstableRestarts)),
		"ExitCode":             dbus.MakeVariant(exit),
		"ExitSignal":           dbus.MakeVariant(p.ExitSignal),
		"Reason":               dbus.MakeVariant(p.Reason),
		"StatusText":           dbus.MakeVariant(p.StatusText),
		"ActiveEnterTimestamp": dbus.MakeVariant(usec(p.StartedAt)),
		"NextRestartTimestamp": dbus.MakeVariant(usec(p.NextRestart)),
		"Containment":          dbus.MakeVariant(p.Containment),
		"ControlGroup":         dbus.MakeVariant(p.Cgroup),
		"OutLog":               dbus.MakeVariant(p.OutLog),
		"ErrLog":               dbus.MakeVariant(p.ErrLog),
	}
	setSample(m, p.CPUSeconds, p.CPU, p.Memory)
	return m
}

// setSample sets the properties a sample changes.
func setSample(m map[string]dbus.Variant, cpuSeconds, cpu float64, memory uint64) {
	m["CPUUsageNSec"] = dbus.MakeVariant(uint64(cpuSeconds * 1e9))
	m["CPUPercent"] = dbus.MakeVariant(cpu)
	m["MemoryCurrent"] = dbus.MakeVariant(memory)
}

func usec(t *time.Time) uint64 {
	if t == nil || t.IsZero() || t.UnixMicro() < 0 {
		return 0
	}
	return uint64(t.UnixMicro())
}

// row is one process in ListProcesses and in the replies of the target methods: processRow in xml.go.
type row struct {
	ID        uint32
	Name      string
	Namespace string
	Status    string
	PID       uint32
	Restarts  uint32
	CPU       float64 // percent of one cpu
	Memory    uint64  // bytes
	Uptime    uint64  // µs
	Path      dbus.ObjectPath
}

func rows(list []api.Process) []row {
	out := make([]row, 0, len(list))
	for i := range list {
		p := &list[i]
		out = append(out, row{uint32(p.ID), p.Name, p.Namespace, p.Status, uint32(p.PID), uint32(p.Restarts), p.CPU,
			p.Memory, uint64(max(p.UptimeMS, 0)) * 1000, processPath(p.ID)})
	}
	return out
}

// mirrorRow is the row of process id from its properties in the mirror, with its uptime at now (as the daemon
// counts it: since the run began, for a process that has a pid).
func mirrorRow(id int, props map[string]dbus.Variant, now time.Time) row {
	str := func(k string) string { v, _ := props[k].Value().(string); return v }
	u32 := func(k string) uint32 { v, _ := props[k].Value().(uint32); return v }
	cpu, _ := props["CPUPercent"].Value().(float64)
	mem, _ := props["MemoryCurrent"].Value().(uint64)
	var uptime uint64
	if start, _ := props["ActiveEnterTimestamp"].Value().(uint64); start > 0 && u32("PID") != 0 {
		if n := uint64(now.UnixMicro()); n > start {
			uptime = n - start
		}
	}
	return row{uint32(id), str("Name"), str("Namespace"), str("Status"), u32("PID"), u32("Restarts"), cpu, mem, uptime,
		processPath(id)}
}
