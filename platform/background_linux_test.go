package platform

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// threadNice reads the nice value of one thread from /proc (field 19 of stat).
func threadNice(t *testing.T, tid int) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/task/" + strconv.Itoa(tid) + "/stat")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	n, err := strconv.Atoi(fields[16])
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestBackgroundLowersOnlyTheCallingThread(t *testing.T) {
	// Two locked goroutines, so two threads: the one that calls Background and this one, which must keep its nice.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	self := unix.Gettid()
	before := threadNice(t, self)
	type result struct {
		tid, nice int
		err       error
	}
	ch := make(chan result)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with this goroutine
		tid := unix.Gettid()
		err := Background()
		ch <- result{tid, threadNice(t, tid), err}
	}()
	r := <-ch
	if r.err != nil {
		t.Fatal(r.err)
	}
	if want := min(before+10, 19); r.nice != want {
		t.Errorf("nice of the background thread = %d, want %d", r.nice, want)
	}
	if r.tid == self {
		t.Fatal("both goroutines ran on one thread")
	}
	if got := threadNice(t, self); got != before {
		t.Errorf("nice of another thread = %d after Background, want %d unchanged", got, before)
	}
}
