// Command listener binds a TCP port on 127.0.0.1 and hands the socket to a child that ignores SIGINT, as a server
// with workers does; it writes "PORT LEADER CHILD" to the file named by its argument. The leader dies on SIGINT, the
// child only on SIGKILL: after a stop, a port still bound means an orphan survived.
package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"time"
)

func main() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	f, err := ln.(*net.TCPListener).File()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	child := exec.Command("sh", "-c", `trap "" INT; exec sleep 1000`)
	child.ExtraFiles = []*os.File{f}
	if err := child.Start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	tmp := os.Args[1] + ".tmp"
	if err := os.WriteFile(tmp, fmt.Appendf(nil, "%d %d %d\n", port, os.Getpid(), child.Process.Pid), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := os.Rename(tmp, os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("listening on", port)
	for {
		time.Sleep(time.Hour)
	}
}
