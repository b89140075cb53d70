package service

import (
	"fmt"
	"os/user"
	"strconv"
	"sync"
	"time"

	"github.com/gpmd/gpm/config"
)

// identity is who an app runs as: uid and gid (-1, -1: as the daemon), and, when the user changes, the user's name
// and home, which its environment gets as HOME, USER and LOGNAME (as su(1) and systemd's User= give them): an app
// of www-data with the root caller's HOME=/root fails on the first file it writes there. groups are the user's
// supplementary groups (with gid), which the app keeps as with systemd's User=; none when only a group is given.
type identity struct {
	uid, gid   int
	name, home string
	groups     []int
}

// Limits of the identity cache.
const (
	// identityRefresh is the age after which a cached identity is looked up again (in the background; the start
	// that found it stale uses it): group memberships and homes change, as systemd sees at each start.
	identityRefresh = 30 * time.Second
	// maxIdentities bounds the cache: distinct (uid, gid) settings of the apps. Past it, an entry not being
	// looked up is dropped; its next start looks it up again.
	maxIdentities = 1024
)

// lookupIdentity resolves an app's uid and gid settings through NSS (/etc/passwd, or LDAP...: it may take seconds,
// so never on the loop). A variable, so that a test can slow it down.
var lookupIdentity = func(userName, group string) (identity, error) {
	id := identity{uid: -1, gid: -1}
	if userName != "" {
		u, err := user.Lookup(userName)
		if err != nil {
			if u, err = user.LookupId(userName); err != nil {
				return id, fmt.Errorf("uid %q: %w", userName, err)
			}
		}
		id.uid, _ = strconv.Atoi(u.Uid)
		id.gid, _ = strconv.Atoi(u.Gid)
		id.name, id.home = u.Username, u.HomeDir
		gids, err := u.GroupIds()
		if err != nil {
			return id, fmt.Errorf("uid %q: supplementary groups: %w", userName, err)
		}
		for _, g := range gids {
			if n, err := strconv.Atoi(g); err == nil {
				id.groups = append(id.groups, n)
			}
		}
	}
	if group != "" {
		g, err := user.LookupGroup(group)
		if err != nil {
			if g, err = user.LookupGroupId(group); err != nil {
				return id, fmt.Errorf("gid %q: %w", group, err)
			}
		}
		id.gid, _ = strconv.Atoi(g.Gid)
		if userName != "" {
			id.groups = append(id.groups, id.gid) // initgroups(3) with the given group, as systemd's Group=
		}
	}
	if id.uid < 0 {
		id.uid = 0 // a group alone: root's uid, the daemon's environment
	}
	return id, nil
}

// identities caches resolved identities, so that the supervision loop never waits on NSS: a start whose identity
// is not cached asks for it (fetch) and goes on when it arrives; restarts use the cached one.
type identities struct {
	mu sync.Mutex
	m  map[identityKey]*identityEntry
}

type identityKey struct{ user, group string }

type identityEntry struct {
	id       identity
	err      error
	at       time.Time // when it was resolved; zero while the first lookup runs
	fetching bool
	waiters  []func()
}

// get returns the cached identity of key; ok is false when it was never resolved. A stale entry is looked up again
// in the background.
func (c *identities) get(key identityKey) (id identity, err error, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.m[key]
	if e == nil || e.at.IsZero() {
		return identity{}, nil, false
	}
	if time.Since(e.at) > identityRefresh && !e.fetching {
		c.startLocked(key, e)
	}
	return e.id, e.err, true
}

// fetch looks key up off the caller's goroutine and then calls done (on the lookup's goroutine). Lookups of one key
// are shared.
func (c *identities) fetch(key identityKey, done func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[identityKey]*identityEntry{}
	}
	e := c.m[key]
	if e == nil {
		if len(c.m) >= maxIdentities {
			for k, old := range c.m {
				if !old.fetching {
					delete(c.m, k)
					break
				}
			}
		}
		e = &identityEntry{}
		c.m[key] = e
	}
	e.waiters = append(e.waiters, done)
	if !e.fetching {
		c.startLocked(key, e)
	}
}

func (c *identities) startLocked(key identityKey, e *identityEntry) {
	e.fetching = true
	go func() {
		id, err := lookupIdentity(key.user, key.group)
		c.mu.Lock()
		e.id, e.err, e.at, e.fetching = id, err, time.Now(), false
		waiters := e.waiters
		e.waiters = nil
		c.mu.Unlock()
		for _, done := range waiters {
			done()
		}
	}()
}

// identityKeyOf is the cache key of an app's uid and gid settings.
func identityKeyOf(a *config.App) identityKey { return identityKey{a.User, a.Group} }

// credentials returns who a runs as, from the cache. Runs on the loop: it never looks up. ok is false when the
// identity is not cached yet (startAll fetches it first).
func (d *Daemon) credentials(a *config.App) (id identity, err error, ok bool) {
	id = identity{uid: -1, gid: -1}
	if a.User == "" && a.Group == "" {
		return id, nil, true
	}
	if d.euid != 0 {
		return id, fmt.Errorf("uid/gid need a daemon running as root"), true
	}
	return d.ids.get(identityKeyOf(a))
}

// identityPending reports whether p cannot start before its identity is looked up; if so, the lookup runs off the
// loop, and p starts once it is done (unless it was started or stopped again meanwhile). Runs on the loop.
func (d *Daemon) identityPending(p *proc) bool {
	if _, _, ok := d.credentials(&p.app); ok {
		return false
	}
	gen := p.gen
	d.ids.fetch(identityKeyOf(&p.app), func() {
		d.postIfRunning(func() {
			if p.gen == gen && d.procs[p.id] == p {
				d.startAll([]*proc{p}, []func(){nil})
			}
		})
	})
	return true
}

// postIfRunning is post for goroutines that may outlive the loop: it gives up once the daemon is stopping.
func (d *Daemon) postIfRunning(fn func()) {
	if d.runCtx == nil {
		d.post(fn)
		return
	}
	select {
	case d.ops <- fn:
	case <-d.runCtx.Done():
	}
}

// identityOf resolves a's identity for work done off the loop (flush of a stopped app's files): the cached one,
// else a lookup now, which may wait on NSS. Never call it on the loop.
func (d *Daemon) identityOf(a *config.App) (identity, error) {
	if id, err, ok := d.credentials(a); ok {
		return id, err
	}
	return lookupIdentity(a.User, a.Group)
}
