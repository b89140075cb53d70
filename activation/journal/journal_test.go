package journal

import (
	"bytes"
	"encoding/binary"
	"net"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// TestAppend_Issue12: a value without a newline is KEY=value; one with a newline is KEY, its length as a
// little-endian uint64, the value (the native protocol's two forms).
func TestAppend_Issue12(t *testing.T) {
	b := Append(nil, "MESSAGE", "hello")
	if string(b) != "MESSAGE=hello\n" {
		t.Errorf("simple: %q", b)
	}
	b = Append(nil, "MESSAGE", "a\nb")
	want := append([]byte("MESSAGE\n"), binary.LittleEndian.AppendUint64(nil, 3)...)
	want = append(want, "a\nb\n"...)
	if !bytes.Equal(b, want) {
		t.Errorf("with newline: %q, want %q", b, want)
	}
}

// TestSendAndDial_Issue12: Send is one datagram with the fields in order; Dial of a missing socket says so.
func TestSendAndDial_Issue12(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no datagram unix sockets")
	}
	sock := filepath.Join(t.TempDir(), "j.sock")
	if _, err := Dial(sock); err == nil {
		t.Fatalf("dial of a missing socket: no error")
	}
	ln, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := Dial(sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Send(Field{"MESSAGE", "hi"}, Field{"PRIORITY", "6"}); err != nil {
		t.Fatal(err)
	}
	ln.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 1024)
	n, err := ln.Read(buf)
	if err != nil || string(buf[:n]) != "MESSAGE=hi\nPRIORITY=6\n" {
		t.Errorf("received %q, %v", buf[:n], err)
	}
	if err := c.Send(Field{"MESSAGE", string(make([]byte, MaxEntry))}); err == nil {
		t.Errorf("an entry over MaxEntry was sent")
	}
}
