//go:build !linux

package cgroup

// Hierarchy is the subtree gpm writes; outside Linux there is none.
type Hierarchy struct{}

// Group is one app process's cgroup; outside Linux there is none.
type Group struct{}

// Open reports that cgroups are Linux only.
func Open(home string) (*Hierarchy, error) { return nil, ErrUnsupported }

func (h *Hierarchy) Path() string               { return "" }
func (h *Hierarchy) Controllers() []string      { return nil }
func (h *Hierarchy) Has(controller string) bool { return false }
func (h *Hierarchy) New(name string, id int, changed func()) (*Group, error) {
	return nil, ErrUnsupported
}
func (h *Hierarchy) Leftovers() []*Group  { return nil }
func (h *Hierarchy) Close()               {}
func (g *Group) Path() string             { return "" }
func (g *Group) FD() int                  { return -1 }
func (g *Group) Kill() error              { return ErrUnsupported }
func (g *Group) Populated() bool          { return false }
func (g *Group) Procs() []int             { return nil }
func (g *Group) Usage() (Usage, error)    { return Usage{}, ErrUnsupported }
func (g *Group) SetLimits(l Limits) error { return ErrUnsupported }
func (g *Group) Remove() error            { return nil }

func (h *Hierarchy) Why() string { return "" }

// RSS is unknown outside Linux.
func RSS(pid int) uint64 { return 0 }

// MissingController is the error for a limit whose controller is missing: outside Linux, every one.
func MissingController(controller, path string) error { return ErrUnsupported }
