package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gpmd/gpm/api"
	"github.com/gpmd/gpm/client"
	"github.com/gpmd/gpm/console/snapshot"
)

func hasName(list []api.Process, name string) bool {
	for _, p := range list {
		if p.Name == name {
			return true
		}
	}
	return false
}

func (c *cli) showList(ctx context.Context) error {
	conn, err := c.client(ctx)
	if err != nil {
		return err
	}
	list, err := listRows(ctx, conn)
	if err != nil {
		return err
	}
	c.printList(withoutModules(list))
	return nil
}

// row is a process as the table, `ls -m` and `ls --sort` show it: the members of api.Process that ls asks the
// daemon for (rowFields), without the rest, and without the config above all, which was most of what decoding the
// daemon's answer cost (`gpm start` of 50 apps decodes two such lists; `gpm ls` of 1000 apps, 1 MB).
type row struct {
	ID         int     `json:"id"`
	Name       string  `json:"name"`
	Namespace  string  `json:"namespace"`
	PID        int     `json:"pid"`
	Status     string  `json:"status"`
	Restarts   int     `json:"restarts"`
	Mode       string  `json:"mode"`
	UptimeMS   int64   `json:"uptime_ms"`
	CPU        float64 `json:"cpu"`
	Memory     uint64  `json:"memory"`
	StatusText string  `json:"status_text,omitempty"`
}

// rowFields are the JSON names of row's members (TestRowFields).
var rowFields = []string{"id", "name", "namespace", "pid", "status", "restarts", "mode", "uptime_ms", "cpu", "memory", "status_text"}

// listRows returns the daemon's list with the members of a row only (api.ListParams). A daemon older than the
// parameter sends whole records, whose other members the decoder passes over.
func listRows(ctx context.Context, conn *client.Client) ([]row, error) {
	var raw json.RawMessage
	if err := conn.Call(ctx, api.MethodList, api.ListParams{Fields: rowFields}, &raw); err != nil {
		return nil, err
	}
	list, err := decodeRows(raw)
	if err != nil {
		return nil, fmt.Errorf("list: decode reply: %w", err)
	}
	return list, nil
}

// rowsOf is the table's view of full records (what start, stop and the like answer).
func rowsOf(list []api.Process) []row {
	out := make([]row, len(list))
	for i, p := range list {
		out[i] = row{ID: p.ID, Name: p.Name, Namespace: p.Namespace, PID: p.PID, Status: p.Status, Restarts: p.Restarts,
			Mode: p.Mode, UptimeMS: p.UptimeMS, CPU: p.CPU, Memory: p.Memory, StatusText: p.StatusText}
	}
	return out
}

// shown is a process as the "[gpm] …" lines after a start need it: without its config, which was half of what
// decoding the daemon's answer cost (`gpm start` of 50 apps).
type shown struct {
	api.Process
	Config skipped `json:"config"` // the shallower field wins: api.Process.Config stays empty
}

// skipped is a JSON value passed over.
type skipped struct{}

func (*skipped) UnmarshalJSON([]byte) error { return nil }

func processes(list []shown) []api.Process {
	out := make([]api.Process, len(list))
	for i := range list {
		out[i] = list[i].Process
	}
	return out
}

// printList prints PM2's table: id, name, namespace, mode, pid, uptime, restarts, status, cpu, mem.
func (c *cli) printList(list []row) {
	t := newTable(10, len(list)+1)
	for _, h := range []string{"id", "name", "namespace", "mode", "pid", "uptime", "↺", "status", "cpu", "mem"} {
		t.cell(h)
	}
	for _, p := range list {
		t.buf = strconv.AppendInt(t.buf, int64(p.ID), 10)
		t.end()
		t.cell(p.Name)
		t.cell(p.Namespace)
		t.cell(p.Mode)
		if p.PID != 0 {
			t.buf = strconv.AppendInt(t.buf, int64(p.PID), 10)
			t.end()
			t.cell(snapshot.HumanDuration(time.Duration(p.UptimeMS) * time.Millisecond))
		} else {
			t.cell("0")
			t.cell("0")
		}
		t.buf = strconv.AppendInt(t.buf, int64(p.Restarts), 10)
		t.end()
		t.buf = append(t.buf, p.Status...)
		if p.StatusText != "" {
			t.buf = append(append(append(t.buf, " ("...), truncate(p.StatusText, 32)...), ')')
		}
		t.end()
		t.buf = append(strconv.AppendFloat(t.buf, p.CPU, 'f', 1, 64), '%') // fmt's %.1f%%
		t.end()
		t.cell(humanBytes(p.Memory))
	}
	t.writeTo(c.stdout)
}

// truncate shortens s to n runes with an ellipsis.
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func humanBytes(b uint64) string {
	switch {
	case b >= 1<<30:
		return fmt.Sprintf("%.1fgb", float64(b)/(1<<30))
	case b >= 1<<20:
		return fmt.Sprintf("%.1fmb", float64(b)/(1<<20))
	case b >= 1<<10:
		return fmt.Sprintf("%.1fkb", float64(b)/(1<<10))
	}
	return fmt.Sprintf("%db", b)
}

func cmdList(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("list")
	by := fs.String("sort", "", "sort by name, id, pid, namespace, status, restarts, uptime, cpu or memory; FIELD:desc reverses")
	mini := fs.BoolP("mini-list", "m", false, "one block of name: value lines per process, without a table")
	all := fs.BoolP("all", "a", false, "show modules too (namespace "+api.ModuleNamespace+"; gpm module ls lists them)")
	watch := fs.BoolP("watch", "w", false, "print the table again whenever an app changes and with each sample of cpu and memory (every 2 s), until Ctrl-C; on a terminal it redraws in place")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	less, err := sortBy(*by)
	if err != nil {
		return err
	}
	conn, err := c.client(ctx)
	if err != nil {
		return err
	}
	show := func() error {
		list, err := listRows(ctx, conn)
		if err != nil {
			return err
		}
		if !*all {
			list = withoutModules(list)
		}
		if less != nil {
			slices.SortStableFunc(list, less)
		}
		if *mini {
			printMini(c.stdout, list)
		} else {
			c.printList(list)
		}
		return nil
	}
	if *watch {
		return c.watch(ctx, show)
	}
	return show()
}

// watchPause is the least time between two tables of `ls --watch`: a burst of events (a restart of every app)
// makes one table, not one per event.
const watchPause = 250 * time.Millisecond

// watch runs show once, then again after each batch of the daemon's events (states and samples: the subscription
// without log lines that gpm monit uses), until ctx ends (Ctrl-C: exit 0) or the daemon ends the stream (an
// error). On a terminal each table replaces the last; otherwise a blank line separates them, for a log or a pipe.
func (c *cli) watch(ctx context.Context, show func() error) error {
	sub, err := client.Dial(ctx, c.home)
	if err != nil {
		return err
	}
	defer sub.Close()
	changed := make(chan struct{}, 1)
	ended := make(chan error, 1)
	go func() {
		err := sub.Stream(ctx, api.MethodSubscribe, api.LogsParams{NoLogs: true}, func(api.Event) error {
			select {
			case changed <- struct{}{}:
			default:
			}
			return nil
		})
		if err == nil {
			err = errors.New("the daemon ended the event stream")
		}
		ended <- err
	}()
	f, ok := c.stdout.(*os.File)
	tty := ok && isTerminal(f) && os.Getenv("TERM") != "dumb"
	for {
		if tty {
			fmt.Fprint(c.stdout, "\x1b[H\x1b[2J") // home, clear screen
		}
		if err := show(); err != nil {
			if ctx.Err() != nil {
				return nil // Ctrl-C during a table's list call: the same clean end as between tables
			}
			return err
		}
		if !tty {
			fmt.Fprintln(c.stdout)
		}
		select {
		case <-ctx.Done():
			return nil
		case err := <-ended:
			if ctx.Err() != nil {
				return nil
			}
			return err
		case <-changed:
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(watchPause):
		}
	}
}

// sortBy returns the order of `ls --sort FIELD[:asc|desc]` (PM2's fields); nil when none is asked.
func sortBy(spec string) (func(a, b row) int, error) {
	if spec == "" {
		return nil, nil
	}
	field, dir, _ := strings.Cut(spec, ":")
	keys := map[string]func(a, b row) int{
		"id":        func(a, b row) int { return cmp.Compare(a.ID, b.ID) },
		"name":      func(a, b row) int { return cmp.Compare(a.Name, b.Name) },
		"namespace": func(a, b row) int { return cmp.Compare(a.Namespace, b.Namespace) },
		"pid":       func(a, b row) int { return cmp.Compare(a.PID, b.PID) },
		"status":    func(a, b row) int { return cmp.Compare(a.Status, b.Status) },
		"restarts":  func(a, b row) int { return cmp.Compare(a.Restarts, b.Restarts) },
		"uptime":    func(a, b row) int { return cmp.Compare(a.UptimeMS, b.UptimeMS) },
		"cpu":       func(a, b row) int { return cmp.Compare(a.CPU, b.CPU) },
		"memory":    func(a, b row) int { return cmp.Compare(a.Memory, b.Memory) },
	}
	keys["restart"], keys["mem"] = keys["restarts"], keys["memory"]
	less, ok := keys[field]
	if !ok {
		return nil, fmt.Errorf("--sort %s: expected name, id, pid, namespace, status, restarts, uptime, cpu or memory", field)
	}
	switch dir {
	case "", "asc":
		return less, nil
	case "desc":
		return func(a, b row) int { return less(b, a) }, nil
	}
	return nil, fmt.Errorf("--sort %s: expected FIELD, FIELD:asc or FIELD:desc", spec)
}

// printMini prints `ls -m`: PM2's mini list, a block of "key : value" lines per process.
func printMini(w io.Writer, list []row) {
	var b bytes.Buffer
	for _, p := range list {
		fmt.Fprintf(&b, "+--- %s\nnamespace : %s\npid : %d\nid : %d\nstatus : %s\nmode : %s\nrestarted : %d\nuptime : %s\nmemory : %s\n",
			p.Name, p.Namespace, p.PID, p.ID, p.Status, p.Mode, p.Restarts,
			snapshot.HumanDuration(time.Duration(p.UptimeMS)*time.Millisecond), humanBytes(p.Memory))
	}
	w.Write(b.Bytes())
}

func cmdJlist(ctx context.Context, c *cli, args []string) error {
	return c.printJSONList(ctx, "jlist", args, false)
}

func cmdPrettylist(ctx context.Context, c *cli, args []string) error {
	return c.printJSONList(ctx, "prettylist", args, true)
}

// printJSONList prints the daemon's list as JSON, indented when pretty.
func (c *cli) printJSONList(ctx context.Context, name string, args []string, pretty bool) error {
	fs := c.flags(name)
	if err := c.parse(fs, args); err != nil {
		return err
	}
	conn, err := c.client(ctx)
	if err != nil {
		return err
	}
	if !pretty {
		// The daemon's answer is printed as it comes: jlist is what scripts poll, and decoding 50 records only to
		// encode them again was a third of its time; holding 1000 (1 MB) before printing them, half of it.
		n, err := conn.CopyResult(ctx, api.MethodList, nil, c.stdout)
		if err != nil {
			return err
		}
		if n == 0 {
			_, err = io.WriteString(c.stdout, "[]\n")
		} else {
			_, err = io.WriteString(c.stdout, "\n")
		}
		return err
	}
	var raw json.RawMessage
	if err := conn.Call(ctx, api.MethodList, nil, &raw); err != nil {
		return err
	}
	if len(raw) == 0 || string(raw) == "null" {
		raw = json.RawMessage("[]")
	}
	var b bytes.Buffer
	if err := json.Indent(&b, raw, "", "  "); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	b.WriteByte('\n')
	_, err = c.stdout.Write(b.Bytes())
	return err
}

// pick returns the processes matching one target the way the daemon resolves it (api.Select); none when nothing
// matches.
func pick(list []api.Process, t string) []api.Process {
	out, _ := api.Select([]string{t}, list, processKey)
	return out
}

// processKey is what a target is matched against in a listed process.
func processKey(p api.Process) api.TargetKey {
	return api.TargetKey{ID: p.ID, Name: p.Name, Namespace: p.Namespace, Script: p.Config.Script}
}

func (c *cli) pickOne(ctx context.Context, cmd string, args []string) ([]api.Process, error) {
	fs := c.flags(cmd)
	if err := c.parse(fs, args); err != nil {
		return nil, err
	}
	if fs.NArg() != 1 {
		return nil, fmt.Errorf("expected one id or name")
	}
	conn, err := c.client(ctx)
	if err != nil {
		return nil, err
	}
	list, err := conn.List(ctx)
	if err != nil {
		return nil, err
	}
	found := pick(list, fs.Arg(0))
	if len(found) == 0 {
		return nil, &api.Error{Code: api.CodeNotFound, Message: fmt.Sprintf("process or namespace %q not found", fs.Arg(0))}
	}
	return found, nil
}

func cmdDescribe(ctx context.Context, c *cli, args []string) error {
	found, err := c.pickOne(ctx, "describe", args)
	if err != nil {
		return err
	}
	for i, p := range found {
		if i > 0 {
			fmt.Fprintln(c.stdout)
		}
		snapshot.Describe(c.stdout, p, time.Now())
	}
	return nil
}

func cmdEnv(ctx context.Context, c *cli, args []string) error {
	found, err := c.pickOne(ctx, "env", args)
	if err != nil {
		return err
	}
	envs, err := c.conn.Env(ctx, strconv.Itoa(found[0].ID))
	if err != nil {
		return err
	}
	env := envs[strconv.Itoa(found[0].ID)]
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(c.stdout, "%s=%s\n", k, env[k])
	}
	return nil
}

func cmdID(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("id")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("expected one name")
	}
	conn, err := c.client(ctx)
	if err != nil {
		return err
	}
	list, err := conn.List(ctx)
	if err != nil {
		return err
	}
	ids := []int{}
	for _, p := range list {
		if p.Name == fs.Arg(0) {
			ids = append(ids, p.ID)
		}
	}
	b, _ := json.Marshal(ids)
	fmt.Fprintf(c.stdout, "%s\n", b)
	return nil
}

func cmdPid(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("pid")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	conn, err := c.client(ctx)
	if err != nil {
		return err
	}
	list, err := conn.List(ctx)
	if err != nil {
		return err
	}
	if fs.NArg() > 0 {
		// As PM2: no match prints nothing and is not an error (scripts test `[ -n "$(gpm pid api)" ]`).
		list = pick(list, fs.Arg(0))
	}
	for _, p := range list {
		fmt.Fprintln(c.stdout, p.PID)
	}
	return nil
}

// report prints one "[gpm] name (id N) status" line per process (with its pid when withPID), in one write: a
// process file of 50 apps made 50 writes to a terminal.
func (c *cli) report(list []api.Process, withPID bool) {
	var b bytes.Buffer
	for _, p := range list {
		fmt.Fprintf(&b, "[gpm] %s (id %d) %s", p.Name, p.ID, p.Status)
		if withPID {
			fmt.Fprintf(&b, " pid %d", p.PID)
		}
		b.WriteByte('\n')
	}
	c.stdout.Write(b.Bytes())
}
