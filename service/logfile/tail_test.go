package logfile

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
)

// tailLines is Tail collected into strings, for the table tests.
func tailLines(path string, n int) ([]string, error) {
	var out []string
	err := Tail(context.Background(), path, -1, n, func(l []byte) error {
		out = append(out, string(l))
		return nil
	})
	return out, err
}

// countingReader is an io.ReaderAt that counts the bytes it hands out, and can run a hook on every read.
type countingReader struct {
	r      io.ReaderAt
	n      atomic.Int64
	onRead func()
}

func (c *countingReader) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.r.ReadAt(p, off)
	c.n.Add(int64(n))
	if c.onRead != nil {
		c.onRead()
	}
	return n, err
}

func logOf(size int) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < size; i++ {
		fmt.Fprintf(&b, "line %d of the log\n", i)
	}
	return b.Bytes()
}

// TestTailLinear_Issue11Item8: the tail of a large file (all of its 24 MB, and its last lines) is read at most
// twice over and with a bounded memory, however many lines are asked. The old Tail prepended every 16 KB block to
// what it had read and counted the newlines of the whole again: 559 MB allocated for a 4 MB file, 136 s for 40 MB.
func TestTailLinear_Issue11Item8(t *testing.T) {
	data := logOf(24 << 20)
	lines := bytes.Count(data, []byte{'\n'})
	for _, tc := range []struct {
		name string
		n    int
		want int // lines
	}{
		{"whole file", 1 << 30, lines},
		{"last 10", 10, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &countingReader{r: bytes.NewReader(data)}
			got, sum := 0, 0
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			err := TailReader(context.Background(), r, int64(len(data)), tc.n, func(l []byte) error {
				got++
				sum += len(l) + 1
				return nil
			})
			runtime.ReadMemStats(&after)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("%d lines, want %d", got, tc.want)
			}
			if read, limit := r.n.Load(), 2*int64(sum)+2*tailBlock; read > limit {
				t.Errorf("read %d bytes for a tail of %d: more than twice over (limit %d)", read, sum, limit)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4*tailBlock+64<<10 {
				t.Errorf("allocated %d bytes for a tail of %d: memory must not grow with the tail", alloc, sum)
			}
		})
	}
}

// TestTailCancel_Issue11Item8: a cancelled context (the client went away) stops Tail within a block, backwards
// and forwards. On a 1.2 GB log the daemon kept working 40 s after the client had gone.
func TestTailCancel_Issue11Item8(t *testing.T) {
	data := logOf(8 << 20)
	for _, tc := range []struct {
		name    string
		after   int64 // cancel once this many bytes were read
		forward bool
	}{
		{"backwards", 3 * tailBlock, false},
		{"forwards", int64(len(data)) + 3*tailBlock, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			r := &countingReader{r: bytes.NewReader(data)}
			r.onRead = func() {
				if r.n.Load() >= tc.after {
					cancel()
				}
			}
			lines := 0
			err := TailReader(ctx, r, int64(len(data)), 1<<30, func([]byte) error { lines++; return nil })
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("err %v, want context.Canceled", err)
			}
			if read := r.n.Load(); read > tc.after+2*tailBlock {
				t.Errorf("read %d bytes; cancelled at %d", read, tc.after)
			}
			if tc.forward == (lines == 0) {
				t.Errorf("%d lines handed over before the cancel", lines)
			}
		})
	}
}

// TestTailMatchesSplit compares TailReader with a plain split on random files whose lines cross the blocks, and
// checks that a line over MaxTailLine is cut and marked.
func TestTailMatchesSplit(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for round := 0; round < 40; round++ {
		var b bytes.Buffer
		for b.Len() < rng.Intn(4*tailBlock) {
			b.WriteString(strings.Repeat("x", rng.Intn(3*tailBlock/2)*rng.Intn(2)+rng.Intn(40)))
			b.WriteByte('\n')
		}
		if rng.Intn(2) == 0 {
			b.WriteString("no newline")
		}
		data := b.Bytes()
		all := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
		if len(data) == 0 {
			all = nil
		}
		n := rng.Intn(len(all) + 3)
		want := all[max(0, len(all)-n):]
		var got []string
		err := TailReader(context.Background(), bytes.NewReader(data), int64(len(data)), n, func(l []byte) error {
			got = append(got, string(l))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			want = nil
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") || len(got) != len(want) {
			t.Fatalf("round %d: n=%d of %d lines: got %d lines, want %d", round, n, len(all), len(got), len(want))
		}
	}
	huge := append(bytes.Repeat([]byte("y"), MaxTailLine+5000), "\nlast\n"...)
	var got []string
	TailReader(context.Background(), bytes.NewReader(huge), int64(len(huge)), 2, func(l []byte) error {
		got = append(got, string(l))
		return nil
	})
	if len(got) != 2 || len(got[0]) != MaxTailLine+len(TailCutMark) || !strings.HasSuffix(got[0], TailCutMark) || got[1] != "last" {
		t.Fatalf("a line over MaxTailLine: got %d lines, first of %d bytes", len(got), len(got[0]))
	}
}
