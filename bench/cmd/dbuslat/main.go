// Command dbuslat times io.gpm.Manager1.ListProcesses over D-Bus against the control socket's list, from Go
// clients, for bench/dbus.sh (issue 10: ListProcesses with 50 apps, median <= 3 ms and within 2x of list).
//
//	dbuslat BUS_ADDRESS GPM_HOME N
//
// It makes N calls of each, alternating (so that the machine's load drifts over both alike), after 20 of each to
// warm up, and prints "dbus_median_ms dbus_p90_ms socket_median_ms socket_p90_ms processes".
package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/gpmd/gpm/client"
	"github.com/gpmd/gpm/dbusapi"
)

type row struct {
	ID        uint32
	Name      string
	Namespace string
	Status    string
	PID       uint32
	Restarts  uint32
	CPU       float64
	Memory    uint64
	Uptime    uint64
	Path      dbus.ObjectPath
}

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: dbuslat BUS_ADDRESS GPM_HOME N")
		os.Exit(2)
	}
	n, err := strconv.Atoi(os.Args[3])
	if err != nil || n < 1 {
		fail("N: %v", os.Args[3])
	}
	conn, err := dbus.Connect(os.Args[1])
	if err != nil {
		fail("connect to the bus: %v", err)
	}
	defer conn.Close()
	ctx := context.Background()
	c, err := client.Dial(ctx, os.Args[2])
	if err != nil {
		fail("dial the daemon: %v", err)
	}
	defer c.Close()
	mgr := conn.Object(dbusapi.BusName, dbusapi.ManagerPath)
	var procs int
	viaDBus := func() time.Duration {
		t0 := time.Now()
		var rows []row
		if err := mgr.Call(dbusapi.ManagerIf+".ListProcesses", 0).Store(&rows); err != nil {
			fail("ListProcesses: %v", err)
		}
		procs = len(rows)
		return time.Since(t0)
	}
	viaSocket := func() time.Duration {
		t0 := time.Now()
		if _, err := c.List(ctx); err != nil {
			fail("list: %v", err)
		}
		return time.Since(t0)
	}
	for range 20 {
		viaDBus()
		viaSocket()
	}
	var d, s []time.Duration
	for range n {
		d = append(d, viaDBus())
		s = append(s, viaSocket())
	}
	fmt.Printf("%.3f %.3f %.3f %.3f %d\n", ms(pct(d, 50)), ms(pct(d, 90)), ms(pct(s, 50)), ms(pct(s, 90)), procs)
}

func pct(v []time.Duration, p int) time.Duration {
	slices.Sort(v)
	return v[(len(v)-1)*p/100]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "dbuslat: "+format+"\n", args...)
	os.Exit(1)
}
