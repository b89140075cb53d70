package settings

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSettings_Issue12: set, get and unset persist; pm2-logrotate:KEY is logrotate:KEY; a bad logrotate value is
// refused and changes nothing; an unreadable file falls back to its .bak.
func TestSettings_Issue12(t *testing.T) {
	path := filepath.Join(t.TempDir(), "settings.json")
	s, warn, err := Open(path)
	if err != nil || warn != "" {
		t.Fatalf("open missing: %v %q", err, warn)
	}
	for _, kv := range [][2]string{{"pm2-logrotate:max_size", "10M"}, {"logrotate:retain", "5"},
		{"logrotate:compress", "TRUE"}, {"logrotate:rotateInterval", "0 0 * * *"}, {"mod:x", "1"}} {
		if _, _, err := s.Set(kv[0], kv[1]); err != nil {
			t.Fatalf("set %v: %v", kv, err)
		}
	}
	for _, bad := range [][2]string{{"logrotate:max_size", "big"}, {"logrotate:retain", "0"}, {"logrotate:compress", "yes please"},
		{"logrotate:rotateInterval", "0 0 30 2 *"}, {"logrotate:dateFormat", "x"}, {"no spaces:x", "1"},
		{"k:" + strings.Repeat("a", MaxKey), "1"}, {"k:v", strings.Repeat("a", MaxValue+1)}} {
		if _, _, err := s.Set(bad[0], bad[1]); err == nil {
			t.Errorf("set %q: accepted", bad[0])
		}
	}
	if err := s.Unset("mod:x"); err != nil {
		t.Fatal(err)
	}
	if err := s.Unset("mod:x"); err == nil {
		t.Errorf("unset twice: no error")
	}
	s2, _, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	d, err := s2.LogDefaults()
	if err != nil || d != (LogDefaults{MaxSize: 10 << 20, Retain: 5, Compress: true, Cron: "0 0 * * *"}) {
		t.Errorf("defaults after reopen: %+v, %v", d, err)
	}
	if _, ok := s2.Get("mod:x"); ok {
		t.Errorf("unset key back after reopen")
	}
	// A torn file: the .bak (the state before the last write) is read, with a warning.
	if err := os.WriteFile(path, []byte("{\"logrotate:ret"), 0o600); err != nil {
		t.Fatal(err)
	}
	s3, warn, err := Open(path)
	if err != nil || warn == "" {
		t.Fatalf("open torn: %v, warning %q", err, warn)
	}
	if v, _ := s3.Get("logrotate:retain"); v != "5" {
		t.Errorf("from .bak: retain %q, want 5", v)
	}
}

// TestSettingsSection: a module's keys are read as a section and removed together.
func TestSettingsSection(t *testing.T) {
	s, _, err := Open(filepath.Join(t.TempDir(), "settings.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range [][2]string{{"notify-crash:webhook", "http://x"}, {"notify-crash:journal", "true"}, {"notify-crashx:a", "1"}} {
		if _, _, err := s.Set(kv[0], kv[1]); err != nil {
			t.Fatal(err)
		}
	}
	if sec := s.Section("notify-crash"); len(sec) != 2 || sec["webhook"] != "http://x" || sec["journal"] != "true" {
		t.Errorf("section %v", sec)
	}
	if err := s.UnsetSection("notify-crash"); err != nil {
		t.Fatal(err)
	}
	if all := s.All(); len(all) != 1 || all["notify-crashx:a"] != "1" {
		t.Errorf("after unset section: %v", all)
	}
}
