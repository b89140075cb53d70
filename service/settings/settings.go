// Package settings is gpm's persistent key-value store (`gpm set KEY VALUE`, `gpm get`, `gpm unset`), kept in
// GPM_HOME/settings.json: the defaults every app takes (logrotate:*) and, later, the configuration of modules, as
// PM2 keeps them in module_conf.json. Keys are SECTION:NAME; PM2's pm2-logrotate:NAME is the same key as
// logrotate:NAME. A write is atomic and durable, and keeps the previous good file as settings.json.bak, which a
// reader falls back to when the file is unreadable (service/dump's rules).
package settings

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/gpmd/gpm/config"
	"github.com/gpmd/gpm/service/dump"
)

// Limits of the store: it is read whole at daemon start and sent whole by `gpm get`.
const (
	MaxKey     = 128  // bytes of a key
	MaxValue   = 4096 // bytes of a value
	MaxEntries = 1000 // keys in the store
)

// ErrNotFound is returned by Unset for a key that is not set.
var ErrNotFound = errors.New("not set")

// Store is the settings of one GPM_HOME. It is not safe for concurrent use: the daemon calls it on its loop.
type Store struct {
	path string
	m    map[string]string
}

// Open reads the store at path. A missing file is an empty store; an unreadable one falls back to path.bak, and
// the warning says so; neither readable is an error.
func Open(path string) (s *Store, warning string, err error) {
	s = &Store{path: path, m: map[string]string{}}
	m, err := read(path)
	if err == nil {
		s.m = m
		return s, "", nil
	}
	if errors.Is(err, fs.ErrNotExist) {
		if m, berr := read(path + ".bak"); berr == nil {
			s.m = m
			return s, fmt.Sprintf("%s is missing; read %s.bak", path, path), nil
		}
		return s, "", nil
	}
	if m, berr := read(path + ".bak"); berr == nil {
		s.m = m
		return s, fmt.Sprintf("%v; read %s.bak instead", err, path), nil
	}
	return nil, "", err
}

// Empty is an empty store that writes to path: for a daemon whose store could not be read (it starts without it,
// and the next Set replaces the file).
func Empty(path string) *Store { return &Store{path: path, m: map[string]string{}} }

func read(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("settings %s: %w", path, err)
	}
	if m == nil {
		m = map[string]string{}
	}
	return m, nil
}

// All returns a copy of every setting.
func (s *Store) All() map[string]string {
	out := make(map[string]string, len(s.m))
	for k, v := range s.m {
		out[k] = v
	}
	return out
}

// Get returns the value of key (normalized: pm2-logrotate:x is logrotate:x).
func (s *Store) Get(key string) (string, bool) {
	v, ok := s.m[Key(key)]
	return v, ok
}

// Set checks key and value (Check) and stores them durably. On any error nothing has changed.
func (s *Store) Set(key, value string) (string, string, error) {
	key, value, err := Check(key, value)
	if err != nil {
		return key, value, err
	}
	if _, ok := s.m[key]; !ok && len(s.m) >= MaxEntries {
		return key, value, fmt.Errorf("set %s: the store holds %d keys already (settings.MaxEntries)", key, MaxEntries)
	}
	next := s.All()
	next[key] = value
	if err := s.write(next); err != nil {
		return key, value, err
	}
	s.m = next
	return key, value, nil
}

// Unset removes key durably; ErrNotFound when it is not set.
func (s *Store) Unset(key string) error {
	key = Key(key)
	if _, ok := s.m[key]; !ok {
		return fmt.Errorf("unset %s: %w", key, ErrNotFound)
	}
	next := s.All()
	delete(next, key)
	if err := s.write(next); err != nil {
		return err
	}
	s.m = next
	return nil
}

func (s *Store) write(m map[string]string) error {
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("settings: encode: %w", err)
	}
	data = append(data, '\n')
	// Keep the old file as .bak only if it is good: a corrupt file must not replace a good backup.
	if old, err := os.ReadFile(s.path); err == nil && json.Valid(old) {
		if err := dump.WriteFile(s.path+".bak", old); err != nil {
			return fmt.Errorf("settings: backup: %w", err)
		}
	}
	if err := dump.WriteFile(s.path, data); err != nil {
		return fmt.Errorf("settings: %w", err)
	}
	return nil
}

// keyPattern is what a key may be made of: SECTION:NAME, or a bare NAME.
var keyPattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9_.@/-]+(:[A-Za-z0-9_.-]+)?$`) }) // on first use, not in every CLI call's package initialisation

// Key normalizes key: PM2's module name pm2-logrotate is the logrotate section.
func Key(key string) string {
	key = strings.TrimSpace(key)
	if rest, ok := strings.CutPrefix(key, "pm2-logrotate:"); ok {
		return LogRotate + ":" + rest
	}
	return key
}

// LogRotate is the section of the defaults for log rotation.
const LogRotate = "logrotate"

// The keys of the logrotate section (pm2-logrotate's names).
const (
	KeyMaxSize  = "max_size"       // size with K, M, G: rotate before a file grows past it
	KeyRetain   = "retain"         // rotated files kept per file
	KeyCompress = "compress"       // true or false: gzip rotated files
	KeyInterval = "rotateInterval" // cron expression: rotate at these times too
)

var logRotateKeys = []string{KeyMaxSize, KeyRetain, KeyCompress, KeyInterval}

// Check normalizes and validates a setting: its key's syntax and limits, and for the logrotate section, the names
// gpm knows and the value of each. It returns the key and value as they are stored.
func Check(key, value string) (string, string, error) {
	key = Key(key)
	switch {
	case len(key) > MaxKey:
		return key, value, fmt.Errorf("key of %d bytes is over the limit of %d (settings.MaxKey)", len(key), MaxKey)
	case len(value) > MaxValue:
		return key, value, fmt.Errorf("%s: value of %d bytes is over the limit of %d (settings.MaxValue)", key, len(value), MaxValue)
	case !keyPattern().MatchString(key):
		return key, value, fmt.Errorf("key %q: expected SECTION:NAME (letters, digits, _ . - ; such as logrotate:max_size)", key)
	}
	section, name, _ := strings.Cut(key, ":")
	if section != LogRotate {
		return key, value, nil
	}
	value = strings.TrimSpace(value)
	switch name {
	case KeyMaxSize:
		if _, err := config.ParseSize(value); err != nil {
			return key, value, fmt.Errorf("%s: %w", key, err)
		}
	case KeyRetain:
		n, err := strconv.Atoi(value)
		if err != nil || n < 1 || n > config.MaxLogRetain {
			return key, value, fmt.Errorf("%s: expected a number 1..%d (config.MaxLogRetain), got %q", key, config.MaxLogRetain, value)
		}
	case KeyCompress:
		b, err := strconv.ParseBool(value)
		if err != nil {
			return key, value, fmt.Errorf("%s: expected true or false, got %q", key, value)
		}
		value = strconv.FormatBool(b)
	case KeyInterval:
		if _, err := config.ParseCron(value); err != nil {
			return key, value, fmt.Errorf("%s: %w", key, err)
		}
	default:
		return key, value, fmt.Errorf("%s: unknown logrotate setting; gpm knows %s (it rotates as it writes, so "+
			"workerInterval has no use; names are stamped YYYY-MM-DD_HH-mm-ss in local time)",
			key, strings.Join(logRotateKeys, ", "))
	}
	return key, value, nil
}

// LogDefaults are the logrotate section's values, as an App's fields.
type LogDefaults struct {
	MaxSize  int64
	Retain   int
	Compress bool
	Cron     string
}

// LogDefaults returns the logrotate defaults of the store. Values were checked when set; one that no longer
// parses (a file edited by hand) is left out and named in the error.
func (s *Store) LogDefaults() (LogDefaults, error) {
	var d LogDefaults
	var errs []error
	keys := make([]string, 0, len(s.m))
	for k := range s.m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		section, name, _ := strings.Cut(k, ":")
		if section != LogRotate {
			continue
		}
		_, v, err := Check(k, s.m[k])
		if err != nil {
			errs = append(errs, err)
			continue
		}
		switch name {
		case KeyMaxSize:
			d.MaxSize, _ = config.ParseSize(v)
		case KeyRetain:
			d.Retain, _ = strconv.Atoi(v)
		case KeyCompress:
			d.Compress = v == "true"
		case KeyInterval:
			d.Cron = v
		}
	}
	return d, errors.Join(errs...)
}
