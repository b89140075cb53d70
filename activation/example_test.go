package activation_test

import (
	"fmt"
	"log"
	"net"
	"os"

	"github.com/gpmd/gpm/activation"
)

// A supervisor binds a socket once and starts workers that inherit it as fd 3, the way systemd and gpm do. The
// worker is started through the supervisor's own binary (TrampolineArgs), which sets LISTEN_PID to the worker's
// pid before it execs the worker.
func Example() {
	sock, err := activation.Bind(activation.Spec{Name: "web", Network: "tcp", Address: "127.0.0.1:0"})
	if err != nil {
		log.Fatal(err)
	}
	defer sock.Close()
	socks := []*activation.Socket{sock}
	fmt.Println(activation.Env(socks))
	// With os/exec: cmd.Env = append(os.Environ(), activation.Env(socks)...); cmd.ExtraFiles = activation.Files(socks)
	// and the argv from activation.TrampolineArgs(self, workerPath, workerArgv). In main, before anything else:
	//	if len(os.Args) > 1 && os.Args[1] == activation.TrampolineArg { log.Fatal(activation.RunTrampoline(os.Args[2:])) }
	_ = os.Args
	// Output: [LISTEN_FDS=1 LISTEN_FDNAMES=web]
}

// A worker tells its supervisor it is ready, and what it is doing, on NOTIFY_SOCKET.
func ExampleNotify() {
	ln, err := net.FileListener(os.NewFile(activation.ListenFDsStart, "web"))
	if err != nil {
		return // not started with a socket
	}
	defer ln.Close()
	if _, err := activation.Notify("READY=1\nSTATUS=serving on " + ln.Addr().String()); err != nil {
		log.Print(err)
	}
}
