package dbusapi

// The introspection data of the two gpm interfaces. The daemon serves them inside each object's introspection, and
// init/io.gpm.Manager1.xml holds the same text (InterfacesXML, golden-tested) for others to generate bindings from.
//
// Important (!): a change here is a change of the D-Bus API: docs/DBUS.md says what each member means, and the
// handlers (manager_linux.go, process_linux.go) must take and return exactly these signatures.

// processRow is the signature of one process in ListProcesses and the replies of the target methods:
// id, name, namespace, status, pid, restarts, cpu (percent of one cpu), memory (bytes), uptime (µs), object path.
const processRow = "(usssuudtto)"

const managerIfaceXML = `  <interface name="io.gpm.Manager1">
    <method name="ListProcesses">
      <arg name="processes" type="a` + processRow + `" direction="out"/>
    </method>
    <method name="GetProcess">
      <arg name="process" type="s" direction="in"/>
      <arg name="path" type="o" direction="out"/>
    </method>
    <method name="Start">
      <arg name="process_file" type="s" direction="in"/>
      <arg name="processes" type="a` + processRow + `" direction="out"/>
      <arg name="warnings" type="as" direction="out"/>
    </method>
    <method name="Stop">
      <arg name="targets" type="as" direction="in"/>
      <arg name="processes" type="a` + processRow + `" direction="out"/>
    </method>
    <method name="Restart">
      <arg name="targets" type="as" direction="in"/>
      <arg name="processes" type="a` + processRow + `" direction="out"/>
    </method>
    <method name="Reload">
      <arg name="targets" type="as" direction="in"/>
      <arg name="processes" type="a` + processRow + `" direction="out"/>
    </method>
    <method name="Delete">
      <arg name="targets" type="as" direction="in"/>
      <arg name="processes" type="a` + processRow + `" direction="out"/>
    </method>
    <method name="Reset">
      <arg name="targets" type="as" direction="in"/>
      <arg name="processes" type="a` + processRow + `" direction="out"/>
    </method>
    <method name="Scale">
      <arg name="name" type="s" direction="in"/>
      <arg name="count" type="i" direction="in"/>
      <arg name="processes" type="a` + processRow + `" direction="out"/>
    </method>
    <method name="Signal">
      <arg name="targets" type="as" direction="in"/>
      <arg name="signal" type="s" direction="in"/>
      <arg name="processes" type="a` + processRow + `" direction="out"/>
    </method>
    <method name="Save">
      <arg name="force" type="b" direction="in"/>
      <arg name="path" type="s" direction="out"/>
      <arg name="apps" type="u" direction="out"/>
      <arg name="processes" type="u" direction="out"/>
    </method>
    <method name="Resurrect">
      <arg name="source" type="s" direction="out"/>
      <arg name="started" type="as" direction="out"/>
      <arg name="stopped" type="as" direction="out"/>
      <arg name="skipped" type="as" direction="out"/>
      <arg name="warning" type="s" direction="out"/>
    </method>
    <property name="Version" type="s" access="read">
      <annotation name="org.freedesktop.DBus.Property.EmitsChangedSignal" value="const"/>
    </property>
    <property name="NProcesses" type="u" access="read"/>
    <property name="NOnline" type="u" access="read"/>
  </interface>
`

const processIfaceXML = `  <interface name="io.gpm.Process1">
    <method name="Stop"/>
    <method name="Restart"/>
    <method name="Reload"/>
    <property name="Id" type="u" access="read">
      <annotation name="org.freedesktop.DBus.Property.EmitsChangedSignal" value="const"/>
    </property>
    <property name="Name" type="s" access="read">
      <annotation name="org.freedesktop.DBus.Property.EmitsChangedSignal" value="const"/>
    </property>
    <property name="Instance" type="u" access="read">
      <annotation name="org.freedesktop.DBus.Property.EmitsChangedSignal" value="const"/>
    </property>
    <property name="CreatedTimestamp" type="t" access="read">
      <annotation name="org.freedesktop.DBus.Property.EmitsChangedSignal" value="const"/>
    </property>
    <property name="Namespace" type="s" access="read"/>
    <property name="Mode" type="s" access="read"/>
    <property name="Status" type="s" access="read"/>
    <property name="PID" type="u" access="read"/>
    <property name="Restarts" type="u" access="read"/>
    <property name="UnstableRestarts" type="u" access="read"/>
    <property name="ExitCode" type="i" access="read"/>
    <property name="ExitSignal" type="s" access="read"/>
    <property name="Reason" type="s" access="read"/>
    <property name="StatusText" type="s" access="read"/>
    <property name="ActiveEnterTimestamp" type="t" access="read"/>
    <property name="NextRestartTimestamp" type="t" access="read"/>
    <property name="Containment" type="s" access="read"/>
    <property name="ControlGroup" type="s" access="read"/>
    <property name="OutLog" type="s" access="read"/>
    <property name="ErrLog" type="s" access="read"/>
    <property name="CPUUsageNSec" type="t" access="read">
      <annotation name="org.freedesktop.DBus.Property.EmitsChangedSignal" value="false"/>
    </property>
    <property name="CPUPercent" type="d" access="read">
      <annotation name="org.freedesktop.DBus.Property.EmitsChangedSignal" value="false"/>
    </property>
    <property name="MemoryCurrent" type="t" access="read">
      <annotation name="org.freedesktop.DBus.Property.EmitsChangedSignal" value="false"/>
    </property>
  </interface>
`

const doctype = `<!DOCTYPE node PUBLIC "-//freedesktop//DTD D-BUS Object Introspection 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd">
`

// InterfacesXML is the introspection data of io.gpm.Manager1 and io.gpm.Process1, as init/io.gpm.Manager1.xml
// ships it.
const InterfacesXML = doctype + "<node>\n" + managerIfaceXML + processIfaceXML + "</node>\n"

// standardIfacesXML are the interfaces every object of the service also has: Properties and introspectXML.
const standardIfacesXML = propertiesXML + introspectXML

const propertiesXML = `  <interface name="org.freedesktop.DBus.Properties">
    <method name="Get">
      <arg name="interface_name" type="s" direction="in"/>
      <arg name="property_name" type="s" direction="in"/>
      <arg name="value" type="v" direction="out"/>
    </method>
    <method name="GetAll">
      <arg name="interface_name" type="s" direction="in"/>
      <arg name="props" type="a{sv}" direction="out"/>
    </method>
    <method name="Set">
      <arg name="interface_name" type="s" direction="in"/>
      <arg name="property_name" type="s" direction="in"/>
      <arg name="value" type="v" direction="in"/>
    </method>
    <signal name="PropertiesChanged">
      <arg name="interface_name" type="s"/>
      <arg name="changed_properties" type="a{sv}"/>
      <arg name="invalidated_properties" type="as"/>
    </signal>
  </interface>
`

// introspectXML are Introspectable and Peer, which every node has, also /io/gpm/Manager1/process (the parent of
// the process objects, which is not an object itself).
const introspectXML = `  <interface name="org.freedesktop.DBus.Introspectable">
    <method name="Introspect">
      <arg name="xml_data" type="s" direction="out"/>
    </method>
  </interface>
  <interface name="org.freedesktop.DBus.Peer">
    <method name="Ping"/>
    <method name="GetMachineId">
      <arg name="machine_uuid" type="s" direction="out"/>
    </method>
  </interface>
`

const objectManagerXML = `  <interface name="org.freedesktop.DBus.ObjectManager">
    <method name="GetManagedObjects">
      <arg name="objects" type="a{oa{sa{sv}}}" direction="out"/>
    </method>
    <signal name="InterfacesAdded">
      <arg name="object" type="o"/>
      <arg name="interfaces" type="a{sa{sv}}"/>
    </signal>
    <signal name="InterfacesRemoved">
      <arg name="object" type="o"/>
      <arg name="interfaces" type="as"/>
    </signal>
  </interface>
`
