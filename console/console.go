// Package console is gpm's live terminal console, `gpm monit`: the processes with their status, cpu, memory,
// restarts and uptime, sparklines of their cpu and memory, the selected process's log as it is written, its
// details, and keys that restart, reload, stop, start, delete and scale it. It is a bubbletea program fed by one
// subscription to the daemon's events (state changes, a sample of every process's figures each sampling interval,
// log lines); it lists the processes when it connects and when an event says something it cannot know otherwise
// (a new process, restart counts, events lost), never on a timer.
package console

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/term"

	"github.com/gpmd/gpm/api"
)

// Options are what Run needs.
type Options struct {
	// Dial connects to the daemon; Run calls it at start and again after the connection is lost (a daemon
	// restarted, killed), with a growing pause between failures.
	Dial func(context.Context) (Conn, error)
	// In and Out are the terminal.
	In  io.Reader
	Out io.Writer
}

// Redial pauses between two failed connections: from the first to the last, doubling.
const (
	redialFirst = 250 * time.Millisecond
	redialLast  = 5 * time.Second
)

// fps bounds how often the screen is redrawn. The screen changes with each sample (2 s) or key, so the default 60
// would only wake the renderer for nothing.
const fps = 20

// Run shows the console on the terminal until the user quits (q, ctrl+c) or ctx ends, and gives the terminal back
// as it was. Its error is the terminal's; losing the daemon is shown on the screen, not returned.
func Run(parent context.Context, o Options) error {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	var selected atomic.Int64
	m := NewModel(ctx, &selected)
	p := tea.NewProgram(m, tea.WithContext(ctx), tea.WithInput(o.In), tea.WithOutput(o.Out), tea.WithFPS(fps))
	var wg sync.WaitGroup
	wg.Go(func() { feed(ctx, o.Dial, p.Send, &selected) })
	_, err := p.Run()
	cancel()
	wg.Wait()
	if errors.Is(err, tea.ErrProgramKilled) && !errors.Is(err, tea.ErrProgramPanic) && parent.Err() != nil {
		return nil // the caller's ctx ended (SIGTERM): not a failure
	}
	if err != nil {
		return fmt.Errorf("console: %w", err)
	}
	return nil
}

// feed connects to the daemon and passes the events of one subscription to the program (send) until ctx ends,
// connecting again whenever the stream breaks. Log lines of any process but the selected one are dropped here, so
// that a chatty app costs the console a decode and nothing more. Each connection has a generation number: the
// model ignores what an older one still delivers.
func feed(ctx context.Context, dial func(context.Context) (Conn, error), send func(tea.Msg), selected *atomic.Int64) {
	pause := redialFirst
	for gen := 1; ctx.Err() == nil; gen++ {
		conn, err := dial(ctx)
		if err == nil {
			pause = redialFirst
			send(connectedMsg{gen: gen, conn: conn})
			logs := &logBatch{gen: gen, send: send}
			err = conn.Stream(ctx, api.MethodSubscribe, api.LogsParams{}, func(e api.Event) error {
				if e.Type == api.EventLog {
					if int64(e.ID) == selected.Load() {
						logs.add(e.ID, e.Line)
					}
					return nil
				}
				send(eventMsg{gen: gen, ev: e})
				return nil
			})
			logs.flush()
			conn.Close()
			if err == nil {
				err = errors.New("the daemon ended the event stream")
			}
		}
		if ctx.Err() != nil {
			return
		}
		send(disconnectedMsg{gen: gen, err: err})
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		pause = min(pause*2, redialLast)
	}
}

// logFlush is how long log lines gather before they go to the program together: the screen is drawn after each
// message, and an app writing 10,000 lines a second must not cost 10,000 draws.
const logFlush = 50 * time.Millisecond

// logBatch gathers the selected process's log lines of one connection and sends them as one logsMsg per
// logFlush. It keeps the newest maxLogLines (the pane shows fewer) and counts the ones it let go.
type logBatch struct {
	gen  int
	send func(tea.Msg)

	mu    sync.Mutex
	lines []logLine
	lost  int
	timer *time.Timer
}

type logLine struct {
	id   int
	line string
}

func (b *logBatch) add(id int, line string) {
	if len(line) > maxLineBytes {
		line = line[:maxLineBytes]
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.lines) >= maxLogLines {
		b.lines = b.lines[1:]
		b.lost++
	}
	b.lines = append(b.lines, logLine{id, line})
	if b.timer == nil {
		b.timer = time.AfterFunc(logFlush, b.flush)
	}
}

// flush sends what was gathered, if anything: from the timer, and when the stream ends.
func (b *logBatch) flush() {
	b.mu.Lock()
	lines, lost := b.lines, b.lost
	b.lines, b.lost = nil, 0
	if b.timer != nil {
		b.timer.Stop()
		b.timer = nil
	}
	b.mu.Unlock()
	if len(lines) > 0 {
		b.send(logsMsg{gen: b.gen, lines: lines, lost: lost})
	}
}

// Interactive says whether the console can run on these streams: both terminals, and TERM not "dumb". Otherwise
// `gpm monit` prints the table once (PrintTable).
func Interactive(in, out any, termEnv string) bool {
	if termEnv == "dumb" {
		return false
	}
	fi, ok1 := in.(interface{ Fd() uintptr })
	fo, ok2 := out.(interface{ Fd() uintptr })
	return ok1 && ok2 && term.IsTerminal(fi.Fd()) && term.IsTerminal(fo.Fd())
}
