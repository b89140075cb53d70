package console

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/gpmd/gpm/api"
	"github.com/gpmd/gpm/console/snapshot"
)

// The smallest terminal the full console fits in (ssh's default 80x24); below it the console is a plain table.
const (
	minWidth  = 80
	minHeight = 24
)

var (
	styleHeader   = lipgloss.NewStyle().Bold(true)
	styleSelected = lipgloss.NewStyle().Reverse(true)
	styleTitle    = lipgloss.NewStyle().Bold(true)
	styleDim      = lipgloss.NewStyle().Faint(true)
	styleError    = lipgloss.NewStyle().Foreground(lipgloss.Color("1")).Bold(true)
	styleStatus   = map[string]lipgloss.Style{
		api.StatusOnline:    lipgloss.NewStyle().Foreground(lipgloss.Color("2")),
		api.StatusLaunching: lipgloss.NewStyle().Foreground(lipgloss.Color("3")),
		api.StatusWaiting:   lipgloss.NewStyle().Foreground(lipgloss.Color("3")),
		api.StatusStopping:  lipgloss.NewStyle().Foreground(lipgloss.Color("3")),
		api.StatusErrored:   lipgloss.NewStyle().Foreground(lipgloss.Color("1")).Bold(true),
		api.StatusStopped:   lipgloss.NewStyle().Faint(true),
	}
	styleSpark = lipgloss.NewStyle().Foreground(lipgloss.Color("6"))
)

// View implements tea.Model: the whole screen, in the alternate screen so that quitting gives the terminal back as
// it was.
func (m *Model) View() tea.View {
	v := tea.NewView(m.Render())
	v.AltScreen = true // no window title: terminals do not all give the old one back
	return v
}

// full says whether the terminal is large enough for sparklines and the log pane.
func (m *Model) full() bool { return m.width >= minWidth && m.height >= minHeight }

// logHeight is the number of log lines shown in the full layout.
func (m *Model) logHeight() int { return max(4, (m.height-4)/3) }

// tableRows is how many processes fit on the screen: the height less the host line, the header, the status line
// and, in the full layout, the log pane with its title.
func (m *Model) tableRows() int {
	if m.full() {
		return max(m.height-4-m.logHeight(), 1)
	}
	return max(m.height-3, 1)
}

// Render draws the screen as a string of m.height lines (fewer when the terminal has fewer than three).
func (m *Model) Render() string {
	var lines []string
	switch {
	case m.mode == modeHelp:
		lines = m.helpLines()
	case m.mode == modeDetails && m.sel() != nil:
		lines = m.detailLines()
	default:
		lines = m.tableLines()
	}
	lines = append(lines, m.statusLine())
	return strings.Join(lines, "\n")
}

// body makes lines exactly n long: cut, or padded with empty lines.
func body(lines []string, n int) []string {
	if len(lines) > n {
		return lines[:max(n, 0)]
	}
	for len(lines) < n {
		lines = append(lines, "")
	}
	return lines
}

func (m *Model) hostLine() string {
	s := "gpm monit · " + m.host.String()
	if m.hostErr != nil {
		s = "gpm monit · " + m.hostErr.Error()
	}
	s += fmt.Sprintf(" · %d procs", len(m.rows))
	if m.filter != "" {
		s += fmt.Sprintf(" (%d shown, filter %q)", len(m.order), m.filter)
	}
	return styleTitle.Render(fit(s, m.width))
}

// columns are the widths of the table's columns for the terminal's width.
type columns struct{ name, ns, spark int }

func (m *Model) columns() columns {
	c := columns{name: 16}
	if !m.full() {
		c.name = max(m.width-42, 8)
		return c
	}
	if m.width >= 110 {
		c.name, c.ns = 20, 12
	}
	// id 4, status 9, cpu 6, mem 7, restarts 4, uptime 6, each with a space after it
	fixed := 42 + c.name + 1
	if c.ns > 0 {
		fixed += c.ns + 1
	}
	c.spark = max((m.width-fixed-1)/2, 0)
	return c
}

func (m *Model) tableLines() []string {
	c := m.columns()
	mark := func(k sortKey, s string) string {
		if m.sort != k {
			return s
		}
		if m.desc {
			return s + "▼"
		}
		return s + "▲"
	}
	h := fitRight(mark(sortID, "id"), 4) + " " + fit(mark(sortName, "name"), c.name) + " "
	if c.ns > 0 {
		h += fit("namespace", c.ns) + " "
	}
	h += fit("status", 9) + " " + fitRight(mark(sortCPU, "cpu"), 6) + " " + fitRight(mark(sortMemory, "mem"), 7) + " " +
		fitRight(mark(sortRestarts, "↺"), 4) + " " + fitRight("uptime", 6)
	if c.spark > 0 {
		h += " " + fit("cpu trend", c.spark) + " " + fit("mem trend", c.spark)
	}
	lines := []string{m.hostLine(), styleHeader.Render(fit(h, m.width))}
	n := m.tableRows()
	for i := m.offset; i < len(m.order) && i < m.offset+n; i++ {
		lines = append(lines, m.rowLine(m.rows[m.order[i]], c, i == m.cursor))
	}
	if len(m.order) == 0 {
		switch {
		case m.conn == nil && m.connErr != nil:
			lines = append(lines, "no daemon answers; waiting for one")
		case m.filter != "":
			lines = append(lines, "no process matches the filter (esc clears it)")
		case len(m.rows) == 0 && !m.listing:
			lines = append(lines, "no process: gpm start APP adds one")
		}
	}
	lines = body(lines, 2+n)
	if m.full() {
		lines = append(lines, m.logLines()...)
	}
	return lines
}

// uptime is how long p's current run has lasted, as of the console's last update.
func (m *Model) uptime(p *api.Process) string {
	if p.PID == 0 || p.StartedAt == nil {
		return "0"
	}
	return snapshot.HumanDuration(max(m.at.Sub(*p.StartedAt), 0))
}

func (m *Model) rowLine(r *row, c columns, selected bool) string {
	p := &r.p
	status := fit(p.Status, 9)
	cells := []string{fitRight(strconv.Itoa(p.ID), 4), fit(p.Name, c.name)}
	if c.ns > 0 {
		cells = append(cells, fit(p.Namespace, c.ns))
	}
	cells = append(cells, status, fitRight(fmt.Sprintf("%.1f%%", p.CPU), 6), fitRight(snapshot.HumanBytes(p.Memory), 7),
		fitRight(strconv.Itoa(p.Restarts), 4), fitRight(m.uptime(p), 6))
	if c.spark > 0 {
		clo, chi := cpuScale(r.cpu, c.spark)
		mlo, mhi := memScale(r.mem, c.spark)
		cells = append(cells, sparkline(r.cpu, c.spark, clo, chi), sparkline(r.mem, c.spark, mlo, mhi))
	}
	if selected {
		return styleSelected.Render(fit(strings.Join(cells, " "), m.width))
	}
	// Colours only where a cell is whole: a cut (a narrow terminal) goes through fit, which keeps escapes intact.
	if st, ok := styleStatus[p.Status]; ok {
		i := 2 // after id and name
		if c.ns > 0 {
			i++
		}
		cells[i] = st.Render(status)
	}
	if c.spark > 0 {
		cells[len(cells)-2] = styleSpark.Render(cells[len(cells)-2])
		cells[len(cells)-1] = styleSpark.Render(cells[len(cells)-1])
	}
	return fit(strings.Join(cells, " "), m.width)
}

// logLines are the log pane: a title and the last lines of the selected process.
func (m *Model) logLines() []string {
	n := m.logHeight()
	title := "── no process selected "
	if p := m.sel(); p != nil {
		title = "── logs of " + label(p) + " "
	}
	title += strings.Repeat("─", max(m.width-len([]rune(title)), 0))
	lines := []string{styleDim.Render(fit(title, m.width))}
	logs := m.logs
	if len(logs) > n {
		logs = logs[len(logs)-n:]
	}
	for _, l := range logs {
		lines = append(lines, fit(l, m.width))
	}
	if len(logs) == 0 && m.tailing {
		lines = append(lines, styleDim.Render("reading the log…"))
	}
	return body(lines, n+1)
}

func (m *Model) statusLine() string {
	var s string
	switch {
	case m.mode == modeFilter:
		return fit("filter: "+m.filter+"█  (enter keeps it, esc clears it)", m.width)
	case m.mode == modeConfirm && m.rows[m.confirmID] != nil:
		return styleError.Render(fit("delete "+label(&m.rows[m.confirmID].p)+"? y/n", m.width))
	case m.mode == modeDetails:
		s = "↑↓ scroll  esc back  q quit"
	case m.mode == modeHelp:
		s = "any key: back"
	case m.conn == nil && m.connErr != nil:
		return styleError.Render(fit("no daemon: "+m.connErr.Error()+" (trying again)", m.width))
	case m.status != "":
		if m.failed {
			return styleError.Render(fit(m.status, m.width))
		}
		s = m.status + "  (? keys)"
	default:
		s = "↑↓ select  enter details  r restart  R reload  s stop/start  d delete  +/- scale  / filter  ? keys  q quit"
	}
	return styleDim.Render(fit(s, m.width))
}

// helpText is the key list of `?`.
const helpText = `Keys of gpm monit

  ↑ ↓  j k     select a process       PgUp PgDn g G  page, first, last
  enter        details (describe)     esc            back; clear the filter
  r            restart                R              reload (zero downtime)
  s            stop, or start         d              delete (asks y/n)
  + -          scale the app by one   /              filter: name or namespace
  c m n t i    sort by cpu, memory, name, restarts, id (again: reverse)
  ?            this help              q  ctrl+c      quit

Figures come from the daemon's event stream: each process's cpu and memory
every sampling interval (2 s), state changes as they happen, and the log
lines of the selected process.`

func (m *Model) helpLines() []string {
	lines := []string{m.hostLine()}
	for _, l := range strings.Split(helpText, "\n") {
		lines = append(lines, fit(l, m.width))
	}
	return body(lines, m.height-1)
}

func (m *Model) detailLines() []string {
	p := m.sel()
	d := describe(p, m.at)
	m.scroll = min(m.scroll, max(len(d)-(m.height-2), 0))
	lines := []string{m.hostLine(), styleTitle.Render(fit("details of "+label(p), m.width))}
	for _, l := range d[m.scroll:] {
		lines = append(lines, fit(l, m.width))
	}
	return body(lines, m.height-1)
}

// describe is what `gpm describe` says of p, as lines of "key  value".
func describe(p *api.Process, now time.Time) []string {
	var b strings.Builder
	snapshot.Describe(&b, *p, now)
	lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	for i, l := range lines {
		lines[i] = clean(l) // a configuration's strings (args, paths) may hold anything
	}
	return lines
}
