package service

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gpmd/gpm/activation"
	"github.com/gpmd/gpm/api"
	"github.com/gpmd/gpm/config"
	"github.com/gpmd/gpm/platform"
)

// failingListener fails Accept with EMFILE a few times (the daemon out of file descriptors), then reports itself
// closed.
type failingListener struct {
	mu      sync.Mutex
	calls   int
	failFor int
}

func (l *failingListener) Accept() (net.Conn, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls++
	if l.calls <= l.failFor {
		return nil, &net.OpError{Op: "accept", Net: "unix", Err: syscall.EMFILE}
	}
	return nil, net.ErrClosed
}
func (l *failingListener) Close() error   { return nil }
func (l *failingListener) Addr() net.Addr { return &net.UnixAddr{Name: "test", Net: "unix"} }

// TestItem3NodeNotifyAcceptRetry: an Accept error on the Node shim's notify stream (EMFILE under an fd limit) is
// retried, not the end of the server; only closing the listener ends it.
func TestItem3NodeNotifyAcceptRetry(t *testing.T) {
	d := New(Options{Home: t.TempDir()})
	ln := &failingListener{failFor: 3}
	done := make(chan struct{})
	go func() { d.serveNodeNotify(ln); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("serveNodeNotify did not return once the listener was closed")
	}
	if ln.calls != 4 {
		t.Fatalf("Accept called %d times; want 4 (3 failures retried, then closed)", ln.calls)
	}
}

// fakeSystemd is a NOTIFY_SOCKET in a test: a real unixgram socket.
func fakeSystemd(t *testing.T) (*net.UnixConn, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sd.sock")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, path
}

// readUntil reads messages from c until one holds marker and returns them all (with the fds they carried).
func readUntil(t *testing.T, c *net.UnixConn, marker string) ([]string, [][]int) {
	t.Helper()
	var msgs []string
	var fds [][]int
	buf, oob := make([]byte, 4096), make([]byte, 1024)
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	for {
		n, oobn, _, _, err := c.ReadMsgUnix(buf, oob)
		if err != nil {
			t.Fatalf("reading the fake NOTIFY_SOCKET after %q: %v", msgs, err)
		}
		var got []int
		if cmsgs, err := unix.ParseSocketControlMessage(oob[:oobn]); err == nil {
			for _, cm := range cmsgs {
				if f, err := unix.ParseUnixRights(&cm); err == nil {
					got = append(got, f...)
				}
			}
		}
		msgs = append(msgs, string(buf[:n]))
		fds = append(fds, got)
		if strings.Contains(string(buf[:n]), marker) {
			return msgs, fds
		}
	}
}

// TestItem16ReloadingCounted: two reloads at once (of two apps, say) announce one reload to systemd: RELOADING=1
// when the first begins, READY=1 when the last ends; not RELOADING=1 twice and a READY=1 while the other still runs.
func TestItem16ReloadingCounted(t *testing.T) {
	sd, path := fakeSystemd(t)
	d := New(Options{Home: t.TempDir()})
	d.sd = newSupervisor(map[string]string{"NOTIFY_SOCKET": path})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go d.loop(ctx)
	// The loop waits while both reloads begin, so that they overlap.
	release := make(chan struct{})
	d.post(func() { <-release })
	var wg sync.WaitGroup
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := d.reload(ctx, &api.ReloadParams{Targets: []string{"all"}}); err != nil {
				t.Error(err)
			}
		}()
	}
	// Both reloads have begun (and wait for the loop): counting ops queued was not enough, other work posts too.
	begun := func() bool {
		d.sd.mu.Lock()
		defer d.sd.mu.Unlock()
		return d.sd.reloads == 2
	}
	deadline := time.Now().Add(30 * time.Second)
	for !begun() {
		if time.Now().After(deadline) {
			t.Fatal("the reloads never began")
		}
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	if err := d.sd.send("MARK=1"); err != nil {
		t.Fatal(err)
	}
	msgs, _ := readUntil(t, sd, "MARK=1")
	var reloading, ready int
	for _, m := range msgs {
		if strings.Contains(m, "RELOADING=1") {
			reloading++
		}
		if strings.Contains(m, "READY=1") {
			ready++
		}
	}
	if reloading != 1 || ready != 1 || !strings.Contains(msgs[0], "RELOADING=1") {
		t.Fatalf("systemd heard %q; want one RELOADING=1, then one READY=1", msgs)
	}
}

// TestItem10FDStoreOffTheLoop: putting a socket in systemd's fd store (which the loop does when it binds one)
// does not wait while systemd's queue is full: the message waits in a queue of its own, with its own descriptor,
// and arrives once systemd reads again, even if the socket was closed meanwhile.
func TestItem10FDStoreOffTheLoop(t *testing.T) {
	sd, path := fakeSystemd(t)
	// systemd is busy: its queue is full.
	for i := 0; ; i++ {
		if err := activation.SendNotify(path, "FILL=1"); err != nil {
			if !errors.Is(err, syscall.EAGAIN) {
				t.Fatal(err)
			}
			break
		}
		if i > 1<<20 {
			t.Fatal("the fake NOTIFY_SOCKET never fills")
		}
	}
	d := New(Options{Home: t.TempDir()})
	d.sd = newSupervisor(map[string]string{"NOTIFY_SOCKET": path})
	sock, err := activation.Bind(activation.Spec{Name: "web", Network: "tcp", Address: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	addr, err := sock.Addr()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	d.storeSocket("web", sock)
	if took := time.Since(start); took > 300*time.Millisecond {
		t.Fatalf("storeSocket took %v with systemd's queue full; the loop must not wait on systemd", took)
	}
	sock.Close()
	msgs, fds := readUntil(t, sd, "FDSTORE=1")
	got := fds[len(fds)-1]
	if len(got) != 1 {
		t.Fatalf("FDSTORE=1 (%q) carried %d descriptors, want 1", msgs[len(msgs)-1], len(got))
	}
	defer unix.Close(got[0])
	sa, err := unix.Getsockname(got[0])
	if err != nil {
		t.Fatal(err)
	}
	if in4, ok := sa.(*unix.SockaddrInet4); !ok || in4.Port != addr.(*net.TCPAddr).Port {
		t.Fatalf("the stored descriptor is bound to %+v, want %v", sa, addr)
	}
}

// TestItem10UserLookupOffTheLoop: starting an app with a uid looks the user up (NSS: maybe LDAP, maybe seconds)
// off the supervision loop: the loop keeps answering while the lookup hangs, and the app starts once it is done.
func TestItem10UserLookupOffTheLoop(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("uid apps need a daemon running as root")
	}
	release := make(chan struct{})
	real := lookupIdentity
	lookupIdentity = func(u, g string) (identity, error) {
		<-release
		return real(u, g)
	}
	defer func() { lookupIdentity = real }()

	d := New(Options{Home: t.TempDir()})
	d.sd = newSupervisor(nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	d.runCtx = ctx
	go d.loop(ctx)
	go platform.Reap(ctx, d.exits)
	app := config.New()
	app.Name, app.Script, app.Cwd, app.User = "sleeper", "/bin/sleep", "/", "nobody"
	app.Args = []string{"1000"}
	started := make(chan struct{})
	var p *proc
	d.post(func() {
		p = d.register(app, 0, -1, nil)
		d.start(p, func() { close(started) })
	})
	// The lookup hangs: the loop must still answer.
	answered := make(chan struct{})
	go func() { d.exec(ctx, func() {}); close(answered) }()
	select {
	case <-answered:
	case <-time.After(10 * time.Second):
		close(release)
		t.Fatal("the supervision loop waited on the user lookup")
	}
	close(release)
	select {
	case <-started:
	case <-time.After(30 * time.Second):
		t.Fatal("the app did not start once the user was known")
	}
	var pid int
	var status string
	d.exec(ctx, func() {
		pid, status = p.pid, p.status
		if pid != 0 {
			platform.SignalGroup(pid, syscall.SIGKILL)
		}
	})
	if pid == 0 || status != api.StatusOnline {
		t.Fatalf("after the lookup: status %s pid %d, want online", status, pid)
	}
	if st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); err == nil && !strings.Contains(string(st), "\nUid:\t65534\t") {
		t.Errorf("pid %d does not run as nobody", pid)
	}
}
