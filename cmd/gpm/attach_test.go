//go:build linux && !gpmthin

package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gpmd/gpm/api"
	"github.com/gpmd/gpm/client"
	"github.com/gpmd/gpm/config"
	"github.com/gpmd/gpm/service"
)

// TestAttachLongLine: a line of attach's stdin longer than its scanner takes (64 KiB) ended gpm attach with exit 0
// and nothing said: that line and every line after it were never sent, and a script piping data into attach took
// it for a success. It is an error now, and the lines before it were sent.
func TestAttachLongLine(t *testing.T) {
	home, err := os.MkdirTemp("", "gpm-attach-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(home)
	t.Setenv(api.HomeEnv, home)
	d := service.New(service.Options{Home: home, Socket: filepath.Join(home, api.SocketName)})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	var c *client.Client
	for deadline := time.Now().Add(30 * time.Second); ; {
		if c, err = client.Dial(ctx, home); err == nil {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("daemon: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	defer c.Close()
	got := filepath.Join(home, "got")
	a := config.New()
	a.Name, a.Script, a.Args, a.Stdin = "reader", "sh", []string{"-c", "cat > " + got}, true
	if err := a.Normalize(home); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Start(ctx, a); err != nil {
		t.Fatal(err)
	}
	in := "first\n" + strings.Repeat("x", 100<<10) + "\nlast\n"
	var stdout, stderr bytes.Buffer
	code := run([]string{"attach", "reader"}, strings.NewReader(in), &stdout, &stderr)
	if code == 0 {
		t.Errorf("gpm attach with a 100 KiB line: exit 0, stderr %q", stderr.String())
	}
	if !strings.Contains(stderr.String(), "stdin") {
		t.Errorf("gpm attach with a 100 KiB line: stderr %q does not say what went wrong with stdin", stderr.String())
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if b, _ := os.ReadFile(got); strings.HasPrefix(string(b), "first\n") {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("the line before the long one did not reach the app: %q", b)
		}
	}
	if _, err := c.Delete(ctx, "reader"); err != nil {
		t.Fatal(err)
	}
}
