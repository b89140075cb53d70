// Command bootready measures how long `gpm daemon --resurrect` takes from exec to READY=1 with N saved apps: what a
// boot (or a restart of the service) costs before systemd considers gpm started. It plays systemd's part with its
// own NOTIFY_SOCKET.
//
//	go run ./bench/cmd/bootready -gpm bin/gpm -apps 50 -runs 10
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/gpmd/gpm/client"
	"github.com/gpmd/gpm/config"
	"github.com/gpmd/gpm/service/dump"
)

func main() {
	gpm := flag.String("gpm", "bin/gpm", "the gpm binary")
	apps := flag.Int("apps", 50, "saved apps")
	runs := flag.Int("runs", 10, "measured boots")
	flag.Parse()
	if err := run(*gpm, *apps, *runs); err != nil {
		fmt.Fprintln(os.Stderr, "bootready:", err)
		os.Exit(1)
	}
}

func run(gpm string, apps, runs int) error {
	gpm, err := filepath.Abs(gpm)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "gpm-bootready-")
	if err != nil {
		return err
	}
	if os.Getenv("KEEP") == "" {
		defer os.RemoveAll(dir)
	}
	home := filepath.Join(dir, "home")
	if err := os.MkdirAll(home, 0o700); err != nil {
		return err
	}
	script := filepath.Join(dir, "sleeper.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nexec sleep 100000\n"), 0o755); err != nil {
		return err
	}
	var l dump.List
	for i := 0; i < apps; i++ {
		a := config.New()
		a.Name, a.Script, a.Cwd = fmt.Sprintf("app%02d", i), script, dir
		l.Apps = append(l.Apps, dump.App{Config: a, Procs: []dump.Proc{{ID: i}}})
	}
	if err := dump.Write(filepath.Join(home, "dump.json"), &l); err != nil {
		return err
	}
	notify := filepath.Join(dir, "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: notify, Net: "unixgram"})
	if err != nil {
		return err
	}
	defer conn.Close()
	// Read every message, as systemd does: a notify socket nobody reads fills up after a few messages.
	ready := make(chan struct{}, 1)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			if strings.Contains("\n"+string(buf[:n])+"\n", "\nREADY=1\n") {
				ready <- struct{}{}
			}
		}
	}()

	var times []time.Duration
	for r := 0; r < runs; r++ {
		cmd := exec.Command(gpm, "daemon", "--resurrect")
		cmd.Env = append(os.Environ(), "GPM_HOME="+home, "NOTIFY_SOCKET="+notify)
		logf, err := os.OpenFile(filepath.Join(home, "gpm.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return err
		}
		cmd.Stdout, cmd.Stderr = logf, logf
		start := time.Now()
		if err := cmd.Start(); err != nil {
			return err
		}
		select {
		case <-ready:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			return fmt.Errorf("no READY=1 after 30s")
		}
		took := time.Since(start)
		c, err := client.Dial(context.Background(), home)
		if err != nil {
			return err
		}
		list, err := c.List(context.Background())
		if err != nil {
			return err
		}
		online := 0
		for _, p := range list {
			if p.Status == "online" {
				online++
			}
		}
		if err := c.Kill(context.Background()); err != nil {
			return err
		}
		c.Close()
		cmd.Wait()
		logf.Close()
		if online != apps {
			return fmt.Errorf("run %d: %d of %d apps online at READY=1", r, online, apps)
		}
		times = append(times, took)
	}
	slices.Sort(times)
	fmt.Printf("boot to READY=1 with %d saved apps, %d runs: median %v, min %v, max %v\n",
		apps, runs, times[len(times)/2].Round(100*time.Microsecond), times[0].Round(100*time.Microsecond),
		times[len(times)-1].Round(100*time.Microsecond))
	return nil
}
