package service

import (
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gpmd/gpm/api"
	"github.com/gpmd/gpm/config"
	"github.com/gpmd/gpm/platform"
	"github.com/gpmd/gpm/platform/cgroup"
	"github.com/gpmd/gpm/service/logfile"
	"github.com/gpmd/gpm/service/logpump"
)

// proc is one supervised instance of an app. Every field is owned by the supervision loop.
type proc struct {
	id  int
	app config.App
	// appJSONCache is app encoded (appJSON), logsCache its log paths (logPaths). Important (!): whoever changes
	// app calls appChanged.
	appJSONCache []byte
	logsCache    *[3]string
	instance     int
	callerEnv    map[string]string // the environment of the CLI that started it; never saved
	stdin        *os.File          // the write end of the running process's stdin pipe (app.Stdin); nil otherwise
	uniqueID     string            // PM2's unique_id: a UUID kept across restarts, new for each process registered

	status    string
	pid       int
	startedAt time.Time
	createdAt time.Time
	restarts  int
	unstable  int
	backoff   time.Duration
	exitCode  *int
	exitSig   string
	reason    string

	stopAsked  bool // the current run ends because someone asked
	held       bool // stopped by a user, or registered stopped: cron_restart and watch leave it alone until it starts
	cron       *time.Timer
	cronSpec   string // the cron_restart expression cron was armed for
	failReason string // when set, the requested stop ends in errored with this reason
	statusText string // the app's last STATUS= on NOTIFY_SOCKET
	reload     *drain // during a reload: the previous worker, still serving until this one is ready
	reloadThen func(error)
	leaderGone bool          // the leader was reaped but its group is still being killed
	halt       *halt         // the stop under way (halt.go)
	cg         *cgroup.Group // the current run's cgroup (cgroup mode, cgroup.go)
	cpuBase    time.Duration // cpu.stat usage of cg when the run began (a cgroup is reused across runs)
	gen        int           // bumps on every start and stop; a timer from an older generation does nothing
	timer      *time.Timer
	wdTimer    *time.Timer // the app's watchdog (WATCHDOG=1 re-arms it)
	nextStart  time.Time

	// settled run on the loop when the process reaches a resting state (stopped, errored, or started).
	settled []func()

	// uid is the uid of its last start (identity.uid; -1: the daemon's): who the Node shim's LISTEN= must come
	// from, and whom safefs trusts besides root for its files (logs, pid_file). 0 until a start: root alone.
	uid int
	// listenRefused: a LISTEN= on NOTIFY_SOCKET was refused and logged; later ones are refused silently.
	listenRefused bool

	out, err, combined *logfile.File
	cpu                float64
	mem                uint64
	cpuTime            float64 // seconds of cpu of the run's tree at the last sample
	sampledAt          time.Time
}

// fileName is the app name as it appears in file names (PM2's rule: anything but [a-zA-Z0-9.-] becomes '-', one
// per character). A loop, not a regexp: it runs four times per start and the regexp allocated 4 KB each time.
func fileName(name string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-':
			return r
		}
		return '-'
	}, name)
}

// logPaths returns the out, err and combined paths of p: the configured ones (with -<id> for instances unless
// merged) or the defaults under GPM_HOME/logs.
func (d *Daemon) logPaths(p *proc) (out, errp, combined string) {
	a := &p.app
	if a.DisableLogs || a.LogType == config.LogJournal { // journal: see journal.go
		return "", "", ""
	}
	perInstance := a.Instances > 1 && !a.MergeLogs
	pick := func(set, kind string) string {
		if set == config.NullLog || set == os.DevNull {
			return ""
		}
		if set == "" {
			set = d.path(api.LogsDir, fileName(a.Name)+"-"+kind+".log")
		}
		if perInstance {
			ext := filepath.Ext(set)
			set = strings.TrimSuffix(set, ext) + "-" + strconv.Itoa(p.id) + ext
		}
		return set
	}
	out, errp = pick(a.OutFile, "out"), pick(a.ErrorFile, "error")
	if a.LogFile != "" {
		if a.LogFile == config.DefaultLog {
			combined = pick("", "combined")
		} else {
			combined = pick(a.LogFile, "combined")
		}
	}
	return out, errp, combined
}

// openLogs opens p's log files if they are not open yet.
func (d *Daemon) openLogs(p *proc) error {
	if p.out != nil {
		return nil
	}
	if logsToJournal(&p.app) {
		// No journal, no start: the lines would go nowhere.
		if _, err := d.journalConn(); err != nil {
			return fmt.Errorf("log_type journal: %w", err)
		}
	}
	o, e, c := d.logPaths(p)
	var err error
	if p.out, err = logfile.Open(o, p.uid); err != nil {
		return err
	}
	if p.err, err = logfile.Open(e, p.uid); err != nil {
		p.out.Close()
		p.out = nil
		return err
	}
	if p.combined, err = logfile.Open(c, p.uid); err != nil {
		p.out.Close()
		p.err.Close()
		p.out, p.err = nil, nil
		return err
	}
	d.applyRotation(p)
	return nil
}

// configure gives p a new configuration (a process file applied again). Open log files follow a changed path;
// they are retargeted, not closed, because the pumps of a running or draining worker still write through them.
func (d *Daemon) configure(p *proc, app config.App) {
	p.app = app.Clone()
	p.appChanged()
	if p.out == nil {
		return
	}
	o, e, c := d.logPaths(p)
	for _, r := range []struct {
		f    *logfile.File
		path string
	}{{p.out, o}, {p.err, e}, {p.combined, c}} {
		if err := r.f.Retarget(r.path); err != nil {
			d.log.Printf("%s[%d]: log file: %v", p.app.Name, p.id, err)
		}
	}
	d.applyRotation(p)
}

func (p *proc) closeLogs() {
	for _, f := range []*logfile.File{p.out, p.err, p.combined} {
		if f != nil {
			f.Close()
		}
	}
	p.out, p.err, p.combined = nil, nil, nil
}

// environ builds the child's environment: the caller's (or the daemon's), the user's HOME, USER and LOGNAME when
// it runs as another user, the app's env, then what gpm sets, ep among it.
func (d *Daemon) environ(p *proc, id identity, ep endpoints) []string {
	base := p.callerEnv
	if base == nil {
		base = d.env
	}
	env := make(map[string]string, len(base)+len(p.app.Env)+8)
	for k, v := range base {
		if !filteredEnv(p.app.FilterEnv, k) {
			env[k] = v
		}
	}
	// Never hand our own service-manager plumbing to an app: it would talk to systemd in our name.
	for _, k := range []string{"NOTIFY_SOCKET", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", "WATCHDOG_USEC", "WATCHDOG_PID"} {
		delete(env, k)
	}
	if id.name != "" {
		env["HOME"], env["USER"], env["LOGNAME"] = id.home, id.name, id.name
	}
	d.pm2Env(p, env)
	for k, v := range p.app.Env {
		env[k] = v
	}
	inst := strconv.Itoa(p.instance)
	env[p.app.InstanceVar] = inst
	env["GPM_INSTANCE"] = inst
	env["GPM_ID"] = strconv.Itoa(p.id)
	env["GPM_NAME"] = p.app.Name
	env["GPM_HOME"] = d.opts.Home
	if v := p.app.IncrementVar; v != "" {
		if n, err := strconv.Atoi(env[v]); err == nil {
			env[v] = strconv.Itoa(n + p.instance)
		}
	}
	if ep.notify != "" {
		env["NOTIFY_SOCKET"] = ep.notify
	}
	if wd := p.app.Watchdog; wd > 0 {
		env["WATCHDOG_USEC"] = strconv.FormatInt(int64(wd.D()/time.Microsecond), 10)
		delete(env, "WATCHDOG_PID") // the worker is the process gpm started: sd_watchdog_enabled(3) accepts that
	}
	portEnv(p.app.Listen, env)
	d.nodeEnv(p, env, ep)
	if strings.HasPrefix(filepath.Base(p.app.Interpreter), "python") {
		env["PYTHONUNBUFFERED"] = "1"
	}
	return envList(env)
}

// filteredEnv reports whether the caller's variable k is dropped by filter_env: its name starts with one of the
// prefixes ("" drops all).
func filteredEnv(prefixes []string, k string) bool {
	for _, pre := range prefixes {
		if strings.HasPrefix(k, pre) {
			return true
		}
	}
	return false
}

// pm2Env sets the variables PM2 gives its apps (the flattened pm2_env: Node apps read process.env.pm_id to pick
// their share of the work), beside gpm's GPM_*. The app's own env may override them, as under PM2.
func (d *Daemon) pm2Env(p *proc, env map[string]string) {
	out, errp, _ := d.logPaths(p)
	for _, l := range []*string{&out, &errp} {
		if *l == "" {
			*l = os.DevNull // PM2 shows a disabled log as /dev/null
		}
	}
	env["pm_id"] = strconv.Itoa(p.id)
	env["name"] = p.app.Name
	env["namespace"] = p.app.Namespace
	env["restart_time"] = strconv.Itoa(p.restarts)
	env["instances"] = strconv.Itoa(p.app.Instances)
	env["exec_mode"] = execMode(&p.app) + "_mode"
	env["pm_exec_path"] = p.app.Script
	env["pm_cwd"] = p.app.Cwd
	env["pm_out_log_path"] = out
	env["pm_err_log_path"] = errp
	env["unique_id"] = p.uniqueID
}

// newUniqueID returns a random (version 4) UUID, PM2's unique_id.
func newUniqueID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// command resolves the executable and argv of p.
func (d *Daemon) command(p *proc, env []string) (string, []string, error) {
	a := &p.app
	var argv []string
	if a.Interpreter != "" {
		argv = append(append(append([]string{a.Interpreter}, a.InterpreterArgs...), a.Script), a.Args...)
	} else {
		argv = append([]string{a.Script}, a.Args...)
	}
	path := platform.PathEnv(env)
	if path == "" && len(a.FilterEnv) > 0 {
		// filter_env took PATH from the app, not from the lookup of its program (PM2 spawns with the daemon's).
		base := p.callerEnv
		if base == nil {
			base = d.env
		}
		path = base["PATH"]
	}
	exe, err := platform.LookPath(argv[0], a.Cwd, path)
	if err != nil {
		return "", nil, err
	}
	return exe, argv, nil
}

// childEnv returns who p runs as and the environment it starts with. Runs on the loop: the identity comes from the
// cache (startAll fetched it); one not resolved yet is an error.
func (d *Daemon) childEnv(p *proc) (identity, []string, error) {
	id, err, ok := d.credentials(&p.app)
	if !ok {
		err = fmt.Errorf("uid %q gid %q: not resolved yet, try again", p.app.User, p.app.Group)
	}
	if err != nil {
		return id, nil, err
	}
	ep, err := d.endpointsFor(id.uid, id.gid)
	if err != nil {
		return id, nil, err
	}
	return id, d.environ(p, id, ep), nil
}

// pump carries one output stream of p to its files (service/logpump), off the loop, so a chatty app never waits
// on it.
func (d *Daemon) pump(p *proc, r *logpump.Reader, stream string, f *logfile.File) {
	a := &p.app
	format := logfile.Format{Stream: stream, AppName: a.Name, ID: p.id, JSON: a.LogType == "json"}
	if a.LogDateFormat != "" {
		format.TimeLayout = config.GoTimeLayout(a.LogDateFormat)
	} else if a.Time {
		format.TimeLayout = "2006-01-02T15:04:05"
	}
	dst := []*logfile.File{f}
	if p.combined != nil && p.combined.Path() != "" {
		dst = append(dst, p.combined)
	}
	id, name := p.id, a.Name
	publish := func(l logfile.Line) {
		if d.hub.wantsLines() {
			d.hub.publish(api.Event{Type: api.EventLog, Time: time.Now(), ID: id, Name: name, Stream: l.Stream, Line: string(l.Text)})
		}
	}
	emit := publish
	var reported bool
	onErr := func(err error) {
		if !reported {
			d.log.Printf("%s[%d] %s log: %v", name, id, stream, err)
			reported = true
		}
	}
	if logsToJournal(a) {
		// The journal stamps each entry itself, and takes lines one by one rather than in batches.
		format.TimeLayout, format.JSON, dst = "", false, nil
		if conn, err := d.journalConn(); err == nil {
			toJournal := d.journalEmit(p, stream, conn, onErr)
			emit = func(l logfile.Line) {
				toJournal(l)
				publish(l)
			}
		}
	}
	start := logpump.Start
	if logsToJournal(a) {
		start = logpump.StartApart // journald blocks its senders while it falls behind
	}
	d.streams.add()
	start(r, logfile.NewLines(dst, format, emit, onErr), func(err error) {
		d.log.Printf("%s[%d] %s: %v", name, id, stream, err)
	}, d.streams.done)
}

func (p *proc) stopTimer() {
	if p.timer != nil {
		p.timer.Stop()
		p.timer = nil
	}
	p.nextStart = time.Time{}
}

// after runs fn on the loop after delay, unless p was started or stopped again meanwhile.
func (d *Daemon) after(p *proc, delay time.Duration, fn func()) {
	p.stopTimer()
	gen := p.gen
	p.timer = time.AfterFunc(delay, func() {
		d.post(func() {
			if p.gen == gen {
				p.timer = nil
				fn()
			}
		})
	})
}

// settle runs the callbacks waiting for p to come to rest.
func (d *Daemon) settle(p *proc) {
	cbs := p.settled
	p.settled = nil
	for _, cb := range cbs {
		cb()
	}
}

// snapshot is p as a client sees it.
func (d *Daemon) snapshot(p *proc) api.Process {
	info := d.info(p, time.Now())
	s := info.process()
	s.Config = p.app.Clone()
	return s
}

// info is snapshot without the configuration, now being the time of the list.
func (d *Daemon) info(p *proc, now time.Time) procInfo {
	logs := p.logPaths(d)
	s := procInfo{ID: p.id, Name: p.app.Name, Namespace: p.app.Namespace, PID: p.pid, Status: p.status,
		Restarts: p.restarts, UnstableRestarts: p.unstable, ExitSignal: p.exitSig, Instance: p.instance,
		Mode: execMode(&p.app), CreatedAt: p.createdAt, Reason: p.reason, StatusText: p.statusText,
		OutLog: logs[0], ErrLog: logs[1], CombinedLog: logs[2]}
	if p.exitCode != nil {
		s.ExitCode, s.Exited = *p.exitCode, true
	}
	if p.pid != 0 {
		s.StartedAt, s.Started = p.startedAt, true
		s.UptimeMS = now.Sub(p.startedAt).Milliseconds()
		s.CPU, s.Memory, s.CPUSeconds = p.cpu, p.mem, p.cpuTime
	}
	s.Containment, s.ContainmentReason = d.containMode, d.containWhy
	if p.cg != nil {
		s.Cgroup = p.cg.Path()
	}
	s.NextRestart = p.nextStart
	return s
}

func envMap(kv []string) map[string]string {
	m := make(map[string]string, len(kv))
	for _, s := range kv {
		if k, v, ok := strings.Cut(s, "="); ok {
			m[k] = v
		}
	}
	return m
}

func envList(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	return out
}
