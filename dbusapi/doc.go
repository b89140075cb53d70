// Package dbusapi serves a gpm daemon on D-Bus as io.gpm.Manager1, shaped like systemd's org.freedesktop.systemd1:
// a manager object with methods and properties, one object per process with properties that emit
// PropertiesChanged, org.freedesktop.DBus.ObjectManager on the manager, and introspection (docs/DBUS.md).
//
// It reaches the daemon only through an api.Caller (the control socket's operations, checks and limits) and the
// daemon's access rule for a uid; it never sees the process table. The bus code is Linux only (the _linux.go
// files, with godbus); on other systems the package holds only its names and the introspection XML.
package dbusapi

// Names on the bus. The 1 is the interface's major version: an incompatible change gets Manager2.
const (
	BusName     = "io.gpm.Manager1"
	ManagerPath = "/io/gpm/Manager1"
	ManagerIf   = "io.gpm.Manager1"
	ProcessIf   = "io.gpm.Process1"
	// ProcessPrefix is the path of the processes' objects; a process's object is ProcessPrefix + "/" + its id.
	ProcessPrefix = ManagerPath + "/process"
	// ErrorPrefix starts the names of the errors the service returns: NotFound, InvalidArgument, AccessDenied, Failed.
	ErrorPrefix = "io.gpm.Error."
)

// Environment of the daemon that the D-Bus surface reads.
const (
	// AddressEnv, when set, is the bus address to use instead of the system or session bus ("off" turns D-Bus off):
	// for tests and for a bus at an unusual place.
	AddressEnv = "GPM_DBUS_ADDRESS"
)
