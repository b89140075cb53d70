package service

import (
	"strconv"
	"sync"

	"github.com/gpmd/gpm/activation/journal"
	"github.com/gpmd/gpm/config"
	"github.com/gpmd/gpm/service/logfile"
)

// JournalSocketEnv, in the daemon's environment, replaces journald's socket for apps with log_type journal: for
// tests, which listen on a datagram socket of their own.
const JournalSocketEnv = "GPM_JOURNAL_SOCKET"

// journalState is the daemon's one connection to journald, made when the first journal app starts.
type journalState struct {
	mu   sync.Mutex
	conn *journal.Conn
}

// journalConn returns the connection to journald, dialing it if need be. A missing socket is an error every time
// it is asked for (journald may start later): the start of a journal app fails with it.
func (d *Daemon) journalConn() (*journal.Conn, error) {
	d.journal.mu.Lock()
	defer d.journal.mu.Unlock()
	if d.journal.conn != nil {
		return d.journal.conn, nil
	}
	c, err := journal.Dial(d.env[JournalSocketEnv])
	if err != nil {
		return nil, err
	}
	d.journal.conn = c
	return c, nil
}

// journalEmit returns the pump's per-line function for an app with log_type journal: each line is one entry,
// tagged with the app (SYSLOG_IDENTIFIER and GPM_APP, as `gpm logs` reads them back), its instance and id, at
// priority 6 for stdout and 3 for stderr.
func (d *Daemon) journalEmit(p *proc, stream string, conn *journal.Conn, onErr func(error)) func(logfile.Line) {
	prio := strconv.Itoa(journal.PriInfo)
	if stream == "err" {
		prio = strconv.Itoa(journal.PriErr)
	}
	name, inst, id := p.app.Name, strconv.Itoa(p.instance), strconv.Itoa(p.id)
	return func(l logfile.Line) {
		err := conn.Send(journal.Field{Key: "MESSAGE", Value: string(l.Text)}, journal.Field{Key: "PRIORITY", Value: prio},
			journal.Field{Key: "SYSLOG_IDENTIFIER", Value: name}, journal.Field{Key: "GPM_APP", Value: name},
			journal.Field{Key: "GPM_INSTANCE", Value: inst}, journal.Field{Key: "GPM_ID", Value: id})
		if err != nil {
			onErr(err)
		}
	}
}

// logsToJournal reports whether app a's lines go to the journal.
func logsToJournal(a *config.App) bool { return a.LogType == config.LogJournal && !a.DisableLogs }
