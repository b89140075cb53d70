package console

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/gpmd/gpm/api"
)

func TestSparkline(t *testing.T) {
	tests := []struct {
		vals   []float64
		width  int
		lo, hi float64
		want   string
	}{
		{[]float64{0, 50, 100}, 3, 0, 100, "▁▅█"},
		{[]float64{0, 50, 100}, 5, 0, 100, "  ▁▅█"}, // right-aligned: the newest value is last
		{[]float64{1, 2, 3, 4}, 2, 0, 4, "▆█"},      // only the last width values
		{[]float64{200, -5}, 2, 0, 100, "█▁"},       // clamped
		{[]float64{7, 7, 0}, 3, 7, 7, "▄▄▁"},        // flat: half blocks, zero at the bottom
		{nil, 3, 0, 1, "   "},
		{[]float64{1}, 0, 0, 1, ""},
	}
	for _, tt := range tests {
		if got := sparkline(tt.vals, tt.width, tt.lo, tt.hi); got != tt.want {
			t.Errorf("sparkline(%v, %d, %v, %v) = %q, want %q", tt.vals, tt.width, tt.lo, tt.hi, got, tt.want)
		}
	}
}

func TestScales(t *testing.T) {
	if lo, hi := cpuScale([]float64{0.1, 0.2}, 10); lo != 0 || hi != 10 {
		t.Errorf("cpuScale of an idle app = %v..%v, want 0..10 (a floor keeps noise at the bottom)", lo, hi)
	}
	if lo, hi := cpuScale([]float64{150, 20, 30}, 2); hi != 30 {
		t.Errorf("cpuScale = %v..%v, want the peak of the values drawn (30)", lo, hi)
	}
	if lo, hi := memScale([]float64{100, 101}, 10); lo != hi {
		t.Errorf("memScale of a 1%% move = %v..%v, want flat", lo, hi)
	}
	if lo, hi := memScale([]float64{100, 200, 150}, 10); lo != 100 || hi != 200 {
		t.Errorf("memScale = %v..%v, want 100..200", lo, hi)
	}
}

func TestFit(t *testing.T) {
	for _, tt := range []struct {
		s    string
		w    int
		want string
	}{{"abc", 5, "abc  "}, {"abcdef", 4, "abc…"}, {"日本語", 4, "日… "}, {"x", 0, ""}} {
		if got := fit(tt.s, tt.w); got != tt.want || ansi.StringWidth(got) != tt.w {
			t.Errorf("fit(%q, %d) = %q, want %q", tt.s, tt.w, got, tt.want)
		}
	}
	if got := fitRight("12", 4); got != "  12" {
		t.Errorf("fitRight = %q", got)
	}
}

func TestClean(t *testing.T) {
	if got := clean("a\x1b[2J\x1b[31mb\x1b[0m\tc\rd\x07"); got != "ab cd" {
		t.Errorf("clean = %q, want %q", got, "ab cd")
	}
}

func TestInteractive(t *testing.T) {
	if Interactive(&bytes.Buffer{}, &bytes.Buffer{}, "xterm") {
		t.Error("buffers are not a terminal")
	}
	if Interactive(nil, nil, "dumb") {
		t.Error("TERM=dumb is not interactive")
	}
}

// TestFeed checks the feed against a fake daemon (fakeConn): log lines of other processes than the selected one
// stay out of the program, the others come in a batch (at the latest when the stream ends), and a broken stream
// is followed by a new connection of the next generation.
func TestFeed(t *testing.T) {
	f := &fakeConn{events: []api.Event{
		{Type: api.EventLog, ID: 1, Line: "other"},
		{Type: api.EventLog, ID: 2, Line: "selected"},
		{Type: api.EventSample},
	}}
	var selected atomic.Int64
	selected.Store(2)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var mu sync.Mutex
	var got []string
	dials := 0
	dial := func(context.Context) (Conn, error) {
		mu.Lock()
		defer mu.Unlock()
		if dials++; dials == 2 {
			return nil, errors.New("refused")
		}
		return f, nil
	}
	send := func(m tea.Msg) {
		mu.Lock()
		defer mu.Unlock()
		switch m := m.(type) {
		case connectedMsg:
			got = append(got, fmt.Sprintf("connected %d", m.gen))
			if m.gen == 3 {
				cancel()
			}
		case disconnectedMsg:
			got = append(got, fmt.Sprintf("disconnected %d: %v", m.gen, m.err))
		case eventMsg:
			got = append(got, fmt.Sprintf("event %d %s", m.gen, m.ev.Type))
		case logsMsg:
			for _, l := range m.lines {
				got = append(got, fmt.Sprintf("log %d %d %s", m.gen, l.id, l.line))
			}
		}
	}
	feed(ctx, dial, send, &selected)
	want := "connected 1|event 1 sample|log 1 2 selected|disconnected 1: stream ended|disconnected 2: refused|connected 3"
	if s := strings.Join(got, "|"); !strings.HasPrefix(s, want) {
		t.Errorf("feed sent\n%s\nwant\n%s", s, want)
	}
}

// TestLogBatch checks that a flood of lines becomes few messages that keep the newest lines and count the others.
func TestLogBatch(t *testing.T) {
	var mu sync.Mutex
	var msgs []logsMsg
	b := &logBatch{gen: 1, send: func(m tea.Msg) {
		mu.Lock()
		msgs = append(msgs, m.(logsMsg))
		mu.Unlock()
	}}
	const n = 10_000
	for i := range n {
		b.add(3, fmt.Sprint("line ", i))
	}
	b.flush()
	mu.Lock()
	defer mu.Unlock()
	got, lost := 0, 0
	for _, m := range msgs {
		got += len(m.lines)
		lost += m.lost
	}
	if got+lost != n || len(msgs) > n/maxLogLines+2 {
		t.Errorf("%d messages, %d lines + %d lost, want %d in few messages", len(msgs), got, lost, n)
	}
	last := msgs[len(msgs)-1].lines
	if l := last[len(last)-1].line; l != fmt.Sprint("line ", n-1) {
		t.Errorf("the last line is %q, want the newest", l)
	}
}
