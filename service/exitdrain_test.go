//go:build linux

package service

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gpmd/gpm/api"
	"github.com/gpmd/gpm/config"
)

// TestRunReadsOutputToTheEnd: when the daemon stops, Run returns only once what its apps wrote before they ended
// has been read from their pipes and written out; the process exits right after Run, and what was still in a pipe
// (or in a pump held up by a slow sink) was lost: a container's last lines under gpm run, an app's last words on
// its stop signal. The sink here is a journal that reads slowly, so that the pump is still behind when every app
// is down.
func TestRunReadsOutputToTheEnd(t *testing.T) {
	dir, err := os.MkdirTemp("", "gpm-drain-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "journal.sock")
	jl, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer jl.Close()
	jl.SetReadBuffer(4096) // a small queue: the pump waits for the journal as it reads
	t.Setenv(JournalSocketEnv, sock)

	const lines = 100
	var got atomic.Int64 // lines the journal took
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		buf := make([]byte, 1<<20)
		for {
			n, err := jl.Read(buf)
			if err != nil {
				return
			}
			if bytes.Contains(buf[:n], []byte("MESSAGE=line-")) || bytes.Contains(buf[:n], []byte("MESSAGE=LAST")) {
				got.Add(1)
			}
			time.Sleep(2 * time.Millisecond) // a journald that falls behind
		}
	}()

	home := filepath.Join(dir, "home")
	d := New(Options{Home: home, Socket: filepath.Join(home, api.SocketName)})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	select {
	case <-d.Serving():
	case err := <-done:
		t.Fatalf("Run: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("the daemon did not serve within 30 s")
	}
	a := config.New()
	a.Name, a.Script = "chatty", "/bin/sh"
	// All of it fits in the pipe at once; then the app waits to be stopped.
	a.Args = []string{"-c", `i=0; while [ $i -lt 99 ]; do echo line-$i; i=$((i+1)); done; echo LAST; exec sleep 60`}
	a.LogType = config.LogJournal
	if err := a.Normalize("/"); err != nil {
		t.Fatal(err)
	}
	if err := d.Caller().Call(ctx, api.MethodStart, api.StartParams{Apps: []api.StartApp{{App: a}}}, nil); err != nil {
		t.Fatalf("start: %v", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for got.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no line reached the journal within 30 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("Run did not return within 60 s of its context's end")
	}
	// The process would exit now: nothing sent after this counts.
	os.Remove(sock)
	// What was sent by the time Run returned is in the journal or in its socket's queue: take the rest at once.
	jl.SetReadDeadline(time.Now()) // the slow reader stops
	<-readerDone
	sent := got.Load()
	jl.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	buf := make([]byte, 1<<20)
	for {
		n, err := jl.Read(buf)
		if err != nil {
			break
		}
		if bytes.Contains(buf[:n], []byte("MESSAGE=")) {
			sent++
		}
	}
	t.Logf("sent %d (reader %d)", sent, got.Load())
	if sent < lines {
		t.Fatalf("%d of the app's %d lines were sent when Run returned: the rest was still in its pipe", sent, lines)
	}
}
