package dbusapi

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/godbus/dbus/v5"

	"github.com/gpmd/gpm/api"
)

// The process objects are one subtree export (as systemd serves its units from a fallback vtable): the handlers
// read the id from the call's path, so that an object exists for every process the daemon has, even one the
// mirror has not seen yet.

// processID is the id in a process object's path; ok is false for the subtree's root and for paths that name no
// process.
func processID(msg dbus.Message) (id int, ok bool) {
	path, _ := msg.Headers[dbus.FieldPath].Value().(dbus.ObjectPath)
	rest, found := strings.CutPrefix(string(path), ProcessPrefix+"/")
	if !found || rest == "" || strings.Contains(rest, "/") {
		return 0, false
	}
	id, err := strconv.Atoi(rest)
	if err != nil || id < 0 || strconv.Itoa(id) != rest {
		return 0, false
	}
	return id, true
}

func noObject(msg dbus.Message) *dbus.Error {
	path, _ := msg.Headers[dbus.FieldPath].Value().(dbus.ObjectPath)
	return &dbus.Error{Name: "org.freedesktop.DBus.Error.UnknownObject",
		Body: []any{fmt.Sprintf("no process object %s: gpm has no such process", path)}}
}

// processOp is a method of a process object: Stop, Restart, Reload of that one process.
func (s *session) processOp(method string) func(dbus.Message, dbus.Sender) *dbus.Error {
	return func(msg dbus.Message, sender dbus.Sender) *dbus.Error {
		id, ok := processID(msg)
		if !ok {
			return noObject(msg)
		}
		var out []api.Process
		return s.change(sender, method, targetParams(method, []string{strconv.Itoa(id)}), &out)
	}
}

func (s *session) processGetAll(msg dbus.Message, iface string) (map[string]dbus.Variant, *dbus.Error) {
	id, ok := processID(msg)
	if !ok {
		return nil, noObject(msg)
	}
	if iface != ProcessIf && iface != "" {
		return noProperties(iface)
	}
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	props, ok := s.lookup(id)
	if !ok {
		return nil, noObject(msg)
	}
	return props, nil
}

func (s *session) processGet(msg dbus.Message, iface, name string) (dbus.Variant, *dbus.Error) {
	props, err := s.processGetAll(msg, iface)
	if err != nil {
		return dbus.Variant{}, err
	}
	v, ok := props[name]
	if !ok {
		return dbus.Variant{}, unknownProperty(iface, name)
	}
	return v, nil
}

// processIntrospect describes a process object, or for the subtree's root, lists the processes as child nodes
// (how busctl tree and d-feet find them).
func (s *session) processIntrospect(msg dbus.Message) (string, *dbus.Error) {
	path, _ := msg.Headers[dbus.FieldPath].Value().(dbus.ObjectPath)
	if path == ProcessPrefix {
		var b strings.Builder
		b.WriteString(doctype + "<node>\n" + introspectXML)
		for _, id := range s.ids() {
			fmt.Fprintf(&b, "  <node name=\"%d\"/>\n", id)
		}
		b.WriteString("</node>\n")
		return b.String(), nil
	}
	id, ok := processID(msg)
	if !ok {
		return "", noObject(msg)
	}
	if err := s.enter(); err != nil {
		return "", err
	}
	defer s.leave()
	if _, ok := s.lookup(id); !ok {
		return "", noObject(msg)
	}
	return doctype + "<node>\n" + processIfaceXML + standardIfacesXML + "</node>\n", nil
}
