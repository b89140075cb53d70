package console

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/gpmd/gpm/api"
	"github.com/gpmd/gpm/console/snapshot"
)

// Limits of what the console keeps in memory.
const (
	// maxHistory is the samples kept per process for its sparklines: 4 minutes at the daemon's 2 s interval, more
	// than a 200-column terminal can draw.
	maxHistory = 120
	// maxLogLines is the lines of the selected process's log kept for its pane.
	maxLogLines = 500
	// maxLineBytes cuts a longer log line: the pane shows one screen row of it anyway.
	maxLineBytes = 4096
	// tailLines is how many lines of the log files are read back when a process is selected.
	tailLines = 50
	// maxPending is the state events kept while a list is in flight (replayed on top of it); past it they are
	// dropped and another list is asked for.
	maxPending = 1024
)

// Delays of the console's own timers: none of them polls the daemon.
const (
	// relistDelay gathers the state changes of a burst (a restart of 50 apps) into one list of the figures the
	// events do not carry (restart counts, new and deleted processes).
	relistDelay = 300 * time.Millisecond
	// tailDelay waits for the cursor to settle before the selected process's log tail is read: scrolling through
	// 100 apps reads one tail, not 100.
	tailDelay = 150 * time.Millisecond
)

// Conn is what the console needs of the daemon: *client.Client implements it over the control socket.
type Conn interface {
	api.Caller
	Close() error
}

// row is one process of the table, with the history of its figures.
type row struct {
	p        api.Process
	cpu, mem []float64 // oldest first, at most maxHistory
}

func (r *row) push(cpu float64, mem uint64) {
	if len(r.cpu) == maxHistory {
		r.cpu = append(r.cpu[:0], r.cpu[1:]...)
		r.mem = append(r.mem[:0], r.mem[1:]...)
	}
	r.cpu = append(r.cpu, cpu)
	r.mem = append(r.mem, float64(mem))
}

type mode int

const (
	modeTable   mode = iota
	modeDetails      // describe of the selected process
	modeHelp         // the keys
	modeFilter       // typing the filter
	modeConfirm      // delete? y/n
)

// sortKey is a column the table is sorted by.
type sortKey int

const (
	sortID sortKey = iota
	sortCPU
	sortMemory
	sortName
	sortRestarts
)

// Messages from the feed (console.go) and from commands.
type (
	connectedMsg struct {
		gen  int
		conn Conn
	}
	disconnectedMsg struct {
		gen int
		err error
	}
	eventMsg struct {
		gen int
		ev  api.Event
	}
	listMsg struct {
		gen   int
		procs []api.Process
		err   error
	}
	tailMsg struct {
		id    int
		lines []string
		err   error
	}
	logsMsg struct {
		gen   int
		lines []logLine
		lost  int // lines the feed let go before these (logBatch)
	}
	tailTickMsg   struct{ id int }
	relistTickMsg struct{}
	actionMsg     struct {
		done string // what was done, for the status line
		err  error
	}
)

// Model is the console's state: the processes and their history, the selection, the selected process's log, and
// what the screen shows. It changes only in Update (bubbletea's one goroutine); the daemon's answers come in as
// messages.
type Model struct {
	ctx      context.Context
	readHost func() (snapshot.Host, error)
	now      func() time.Time

	conn    Conn // nil while no daemon answers
	gen     int  // the connection events and lists must come from
	connErr error
	// fresh: no event came yet on this connection. The first one proves the subscription is in place, and the
	// table is listed again then: the first list may have been taken before it, so a change in between was lost.
	fresh bool

	rows  map[int]*row
	order []int // ids shown, in order
	at    time.Time

	listing   bool        // a list is in flight
	again     bool        // another list was asked for meanwhile
	pending   []api.Event // state events received while listing, replayed on the list
	relisting bool        // a relistTickMsg is on its way

	selID    int           // selected process, -1 none
	selected *atomic.Int64 // selID for the feed, which passes log lines of that process only
	cursor   int
	offset   int // first row shown

	width, height int
	sort          sortKey
	desc          bool
	filter        string
	mode          mode
	scroll        int // first line of the details
	confirmID     int // the process a delete asks about

	logID   int // the process the log lines are of
	logs    []string
	tailing bool     // the tail of logID is being read
	early   []string // live lines received while tailing

	host    snapshot.Host
	hostErr error
	status  string // the last action's outcome
	failed  bool   // status is an error
}

// NewModel returns the console's model before its first connection. selected receives the selected process's id
// (-1: none) for the feed's log filter.
func NewModel(ctx context.Context, selected *atomic.Int64) *Model {
	m := &Model{ctx: ctx, readHost: snapshot.ReadHost, now: time.Now, rows: map[int]*row{}, selID: -1, logID: -1,
		selected: selected, width: 80, height: 24}
	selected.Store(-1)
	m.host, m.hostErr = m.readHost()
	m.at = m.now()
	return m
}

// Init implements tea.Model.
func (m *Model) Init() tea.Cmd { return nil }

// Update implements tea.Model.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		return m, m.place()
	case tea.KeyPressMsg:
		return m, m.key(msg)
	case connectedMsg:
		m.conn, m.gen, m.connErr, m.fresh = msg.conn, msg.gen, nil, true
		m.listing, m.again, m.pending = false, false, nil
		if m.logID < 0 {
			return m, m.list()
		}
		// Lines written while no daemon answered (or a tail that could not be read then): read the tail again.
		m.logs, m.early, m.tailing = m.logs[:0], nil, true
		return m, tea.Batch(m.list(), m.tail(m.logID))
	case disconnectedMsg:
		if msg.gen >= m.gen {
			m.conn, m.gen, m.connErr = nil, msg.gen, msg.err
		}
	case listMsg:
		if msg.gen != m.gen {
			return m, nil
		}
		m.listing = false
		if msg.err != nil {
			m.setStatus("list: "+msg.err.Error(), true)
		} else {
			m.applyList(msg.procs)
			for _, e := range m.pending {
				m.applyState(e)
			}
		}
		m.pending = nil
		cmd := m.reorder()
		if m.again {
			m.again = false
			return m, tea.Batch(cmd, m.list())
		}
		return m, cmd
	case eventMsg:
		if msg.gen != m.gen {
			return m, nil
		}
		var cmds []tea.Cmd
		if m.fresh {
			m.fresh = false
			cmds = append(cmds, m.list())
		}
		cmds = append(cmds, m.event(msg.ev))
		return m, tea.Batch(cmds...)
	case logsMsg:
		if msg.gen != m.gen {
			return m, nil
		}
		if msg.lost > 0 && m.logID >= 0 {
			m.addLog(fmt.Sprintf("[gpm monit: %d lines skipped: they came faster than a screen can show]", msg.lost))
		}
		for _, l := range msg.lines {
			if l.id == m.logID {
				m.addLog(l.line)
			}
		}
	case relistTickMsg:
		m.relisting = false
		return m, m.list()
	case tailTickMsg:
		if msg.id == m.logID && m.tailing {
			return m, m.tail(msg.id)
		}
	case tailMsg:
		if msg.id == m.logID && m.tailing {
			m.applyTail(msg.lines, msg.err)
		}
	case actionMsg:
		if msg.err != nil {
			m.setStatus(msg.err.Error(), true)
		} else {
			m.setStatus(msg.done, false)
		}
	}
	return m, nil
}

// setStatus puts an outcome on the status line.
func (m *Model) setStatus(s string, failed bool) {
	m.status, m.failed = strings.TrimSpace(s), failed
}

// list asks the daemon for the table, unless a list is already in flight (then once more after it).
func (m *Model) list() tea.Cmd {
	if m.conn == nil {
		return nil
	}
	if m.listing {
		m.again = true
		return nil
	}
	m.listing, m.pending = true, nil
	ctx, conn, gen := m.ctx, m.conn, m.gen
	return func() tea.Msg {
		var procs []api.Process
		err := conn.Call(ctx, api.MethodList, nil, &procs)
		return listMsg{gen: gen, procs: procs, err: err}
	}
}

// relist asks for a list a moment from now, gathering the changes of a burst into one.
func (m *Model) relist() tea.Cmd {
	if m.relisting {
		return nil
	}
	m.relisting = true
	return tea.Tick(relistDelay, func(time.Time) tea.Msg { return relistTickMsg{} })
}

// applyList replaces the table with procs, keeping the history of the processes it had.
func (m *Model) applyList(procs []api.Process) {
	rows := make(map[int]*row, len(procs))
	for _, p := range procs {
		r := m.rows[p.ID]
		if r == nil {
			r = &row{}
		}
		r.p = p
		rows[p.ID] = r
	}
	m.rows = rows
	m.at = m.now()
}

// event applies one event of the subscription.
func (m *Model) event(e api.Event) tea.Cmd {
	switch e.Type {
	case api.EventState:
		if m.listing {
			if len(m.pending) < maxPending {
				m.pending = append(m.pending, e)
			} else {
				m.again = true
			}
		}
		m.applyState(e)
		// What the event does not carry comes with a list after the burst: restart counts, a new process's
		// namespace and configuration (start, scale), a deleted one's absence (its event says deleted).
		return tea.Batch(m.reorder(), m.relist())
	case api.EventSample:
		return m.sample(e)
	case api.EventLog:
		if e.ID == m.logID {
			m.addLog(e.Line)
		}
	case api.EventDropped:
		// The daemon's queue for this console overflowed: what the lost events changed comes with a list.
		if m.logID >= 0 {
			m.addLog(fmt.Sprintf("[gpm monit: %d events lost: this console read too slowly]", e.Dropped))
		}
		return m.list()
	}
	return nil
}

// applyState applies a state change to its process, if the table has it.
func (m *Model) applyState(e api.Event) {
	r := m.rows[e.ID]
	if r == nil {
		return
	}
	if e.PID != 0 && e.PID != r.p.PID {
		// A new run: its uptime starts now, its figures with the next sample.
		t := e.Time
		if t.IsZero() {
			t = m.now()
		}
		r.p.StartedAt, r.p.UptimeMS, r.p.CPU, r.p.Memory = &t, 0, 0, 0
	}
	r.p.Status, r.p.PID, r.p.Reason = e.Status, e.PID, e.Reason
	if e.PID == 0 {
		r.p.CPU, r.p.Memory, r.p.StartedAt, r.p.UptimeMS = 0, 0, nil, 0
	}
}

// sample applies the figures of every running process; the others get a zero in their history, so that all
// sparklines share one time axis. The host line is read again with each sample: no timer of its own.
func (m *Model) sample(e api.Event) tea.Cmd {
	seen := make(map[int]bool, len(e.Samples))
	unknown := false
	for _, s := range e.Samples {
		r := m.rows[s.ID]
		if r == nil {
			unknown = true
			continue
		}
		seen[s.ID] = true
		r.p.CPU, r.p.Memory, r.p.CPUSeconds = s.CPU, s.Memory, s.CPUSeconds
		r.push(s.CPU, s.Memory)
	}
	for id, r := range m.rows {
		if !seen[id] {
			r.push(0, 0)
		}
	}
	m.at = m.now()
	m.host, m.hostErr = m.readHost()
	cmd := m.reorder()
	if unknown {
		return tea.Batch(cmd, m.relist())
	}
	return cmd
}

// addLog appends a live line of the selected process.
func (m *Model) addLog(line string) {
	if len(line) > maxLineBytes {
		line = line[:maxLineBytes]
	}
	line = clean(line)
	if m.tailing {
		if len(m.early) < maxLogLines {
			m.early = append(m.early, line)
		}
		return
	}
	m.logs = appendCapped(m.logs, line)
}

func appendCapped(logs []string, line string) []string {
	if len(logs) >= maxLogLines {
		logs = append(logs[:0], logs[len(logs)-maxLogLines+1:]...)
	}
	return append(logs, line)
}

// applyTail sets the log pane to the tail read from the files, followed by the live lines that came meanwhile and
// are not its last lines already (the tail was read after the subscription passed them on, so it may hold them).
func (m *Model) applyTail(lines []string, err error) {
	m.tailing = false
	m.logs = m.logs[:0]
	if err != nil {
		m.logs = append(m.logs, "[gpm monit: log tail: "+err.Error()+"]")
	}
	for _, l := range lines {
		m.logs = appendCapped(m.logs, l)
	}
	skip := overlap(lines, m.early)
	for _, l := range m.early[skip:] {
		m.logs = appendCapped(m.logs, l)
	}
	m.early = nil
}

// overlap is the length of the longest prefix of live that ends tail.
func overlap(tail, live []string) int {
	for n := min(len(tail), len(live)); n > 0; n-- {
		if slices.Equal(tail[len(tail)-n:], live[:n]) {
			return n
		}
	}
	return 0
}

// tail reads the last lines of process id's log files (logs --nostream).
func (m *Model) tail(id int) tea.Cmd {
	if m.conn == nil {
		return nil
	}
	ctx, conn := m.ctx, m.conn
	return func() tea.Msg {
		var lines []string
		p := api.LogsParams{Targets: []string{strconv.Itoa(id)}, Lines: tailLines, NoStream: true}
		err := conn.Stream(ctx, api.MethodLogs, p, func(e api.Event) error {
			if e.Type == api.EventLog && len(lines) < maxLogLines {
				l := e.Line
				if len(l) > maxLineBytes {
					l = l[:maxLineBytes]
				}
				lines = append(lines, clean(l))
			}
			return nil
		})
		return tailMsg{id: id, lines: lines, err: err}
	}
}

// less orders two rows by the sort key, ids breaking ties.
func (m *Model) less(a, b *row) int {
	var c int
	switch m.sort {
	case sortCPU:
		c = cmp.Compare(a.p.CPU, b.p.CPU)
	case sortMemory:
		c = cmp.Compare(a.p.Memory, b.p.Memory)
	case sortName:
		c = cmp.Compare(a.p.Name, b.p.Name)
	case sortRestarts:
		c = cmp.Compare(a.p.Restarts, b.p.Restarts)
	}
	if m.desc {
		c = -c
	}
	return cmp.Or(c, cmp.Compare(a.p.ID, b.p.ID))
}

// matches says whether the filter keeps p: a case-insensitive part of its name or namespace.
func matches(p *api.Process, filter string) bool {
	if filter == "" {
		return true
	}
	f := strings.ToLower(filter)
	return strings.Contains(strings.ToLower(p.Name), f) || strings.Contains(strings.ToLower(p.Namespace), f)
}

// reorder rebuilds the rows shown (filter, then sort), keeps the selection on its process, and returns the
// command that reads the log tail when the selection moved to another process.
func (m *Model) reorder() tea.Cmd {
	m.order = m.order[:0]
	for id, r := range m.rows {
		if matches(&r.p, m.filter) {
			m.order = append(m.order, id)
		}
	}
	slices.SortFunc(m.order, func(a, b int) int { return m.less(m.rows[a], m.rows[b]) })
	if i := slices.Index(m.order, m.selID); i >= 0 {
		m.cursor = i
	}
	return m.place()
}

// place clamps the cursor and the scroll offset and follows the selection to the process under the cursor.
func (m *Model) place() tea.Cmd {
	m.cursor = min(max(m.cursor, 0), max(len(m.order)-1, 0))
	rows := m.tableRows()
	if m.cursor < m.offset {
		m.offset = m.cursor
	}
	if rows > 0 && m.cursor >= m.offset+rows {
		m.offset = m.cursor - rows + 1
	}
	m.offset = min(max(m.offset, 0), max(len(m.order)-rows, 0))
	id := -1
	if len(m.order) > 0 {
		id = m.order[m.cursor]
	}
	if id == m.selID {
		return nil
	}
	m.selID = id
	m.selected.Store(int64(id))
	m.logID, m.logs, m.early, m.tailing = id, m.logs[:0], nil, id >= 0
	if id < 0 {
		return nil
	}
	return tea.Tick(tailDelay, func(time.Time) tea.Msg { return tailTickMsg{id: id} })
}

// sel returns the selected process, or nil.
func (m *Model) sel() *api.Process {
	if r := m.rows[m.selID]; r != nil {
		return &r.p
	}
	return nil
}

// label names a process as the CLI's messages do: name[id].
func label(p *api.Process) string { return fmt.Sprintf("%s[%d]", p.Name, p.ID) }

// action runs one control call on the daemon and reports its outcome on the status line.
func (m *Model) action(doing, done, method string, params any) tea.Cmd {
	if m.conn == nil {
		m.setStatus("no daemon: "+doing+" waits for it", true)
		return nil
	}
	m.setStatus(doing+"…", false)
	ctx, conn := m.ctx, m.conn
	return func() tea.Msg {
		var out []api.Process
		if err := conn.Call(ctx, method, params, &out); err != nil {
			return actionMsg{err: fmt.Errorf("%s: %w", doing, err)}
		}
		return actionMsg{done: done}
	}
}

// down says whether p is not running, so that s starts it rather than stops it.
func down(p *api.Process) bool {
	return p.Status == api.StatusStopped || p.Status == api.StatusErrored
}

// key handles a key press.
func (m *Model) key(k tea.KeyPressMsg) tea.Cmd {
	s := k.String()
	if s == "ctrl+c" {
		return tea.Quit
	}
	switch m.mode {
	case modeFilter:
		switch s {
		case "enter":
			m.mode = modeTable
		case "esc":
			m.filter, m.mode = "", modeTable
		case "backspace":
			if r := []rune(m.filter); len(r) > 0 {
				m.filter = string(r[:len(r)-1])
			}
		default:
			if k.Text != "" && len([]rune(m.filter)) < 64 {
				m.filter += k.Text
			}
		}
		return m.reorder()
	case modeConfirm:
		m.mode = modeTable
		// The process asked about, not whatever is selected now: it may have gone meanwhile.
		r := m.rows[m.confirmID]
		if s != "y" || r == nil {
			m.setStatus("delete cancelled", false)
			return nil
		}
		p := &r.p
		return m.action("deleting "+label(p), "deleted "+label(p), api.MethodDelete, api.Targets{Targets: []string{strconv.Itoa(p.ID)}})
	case modeHelp:
		if s == "q" {
			return tea.Quit
		}
		m.mode = modeTable
		return nil
	case modeDetails:
		switch s {
		case "q":
			return tea.Quit
		case "up", "k":
			m.scroll = max(m.scroll-1, 0)
		case "down", "j":
			m.scroll++
		case "pgup":
			m.scroll = max(m.scroll-m.height/2, 0)
		case "pgdown", "space":
			m.scroll += m.height / 2
		case "esc", "enter", "backspace", "left", "h":
			m.mode = modeTable
		}
		return nil
	}
	p := m.sel()
	switch s {
	case "q":
		return tea.Quit
	case "up", "k":
		m.cursor--
	case "down", "j":
		m.cursor++
	case "pgup":
		m.cursor -= max(m.tableRows()-1, 1)
	case "pgdown":
		m.cursor += max(m.tableRows()-1, 1)
	case "home", "g":
		m.cursor = 0
	case "end", "G":
		m.cursor = len(m.order) - 1
	case "enter":
		if p != nil {
			m.mode, m.scroll = modeDetails, 0
		}
		return nil
	case "?":
		m.mode = modeHelp
		return nil
	case "/":
		m.mode = modeFilter
		return nil
	case "esc":
		if m.filter != "" {
			m.filter = ""
			return m.reorder()
		}
		return nil
	case "i", "c", "m", "n", "t":
		k := map[string]sortKey{"i": sortID, "c": sortCPU, "m": sortMemory, "n": sortName, "t": sortRestarts}[s]
		if k == m.sort {
			m.desc = !m.desc
		} else {
			// Biggest first for figures, a to z for names.
			m.sort, m.desc = k, k == sortCPU || k == sortMemory || k == sortRestarts
		}
		return m.reorder()
	case "r", "R", "s", "d", "+", "=", "-":
		if p == nil {
			return nil
		}
		id := strconv.Itoa(p.ID)
		switch s {
		case "r":
			return m.action("restarting "+label(p), "restarted "+label(p), api.MethodRestart, api.RestartParams{Targets: []string{id}})
		case "R":
			return m.action("reloading "+label(p), "reloaded "+label(p), api.MethodReload, api.ReloadParams{Targets: []string{id}})
		case "s":
			if down(p) {
				// restart starts a stopped process, as `gpm restart` does.
				return m.action("starting "+label(p), "started "+label(p), api.MethodRestart, api.RestartParams{Targets: []string{id}})
			}
			return m.action("stopping "+label(p), "stopped "+label(p), api.MethodStop, api.Targets{Targets: []string{id}})
		case "d":
			m.mode, m.confirmID = modeConfirm, p.ID
			return nil
		case "+", "=":
			return m.action("scaling "+p.Name+" up", "scaled "+p.Name+" up by 1", api.MethodScale, api.ScaleParams{Name: p.Name, Count: 1, Relative: true})
		case "-":
			return m.action("scaling "+p.Name+" down", "scaled "+p.Name+" down by 1", api.MethodScale, api.ScaleParams{Name: p.Name, Count: -1, Relative: true})
		}
	default:
		return nil
	}
	return m.place()
}
