//go:build linux

package e2e

// Issue 14 item 15: process-file keys PM2 users have in their files (append_env_to_name, deploy.<env>.env,
// filter_env, treekill, shutdown_with_message, wait_ip, force) and the date token d of log_date_format.

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestEnvNameAndDeployEnv_Issue14Item15: with --env production, append_env_to_name names the app web-production,
// and deploy.production.env is under env, itself under env_production (PM2's order).
func TestEnvNameAndDeployEnv_Issue14Item15(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	dir := t.TempDir()
	eco := writeFile(t, dir, "eco.json", fmt.Sprintf(`{
  "apps": [{"name": "web", "script": %q, "append_env_to_name": true,
            "env": {"FOO": "base", "BAR": "base"}, "env_production": {"BAR": "prod"}}],
  "deploy": {"production": {"user": "u", "host": "h", "env": {"FOO": "deploy", "DEPLOY_ONLY": "d"}}}
}`, fixture("echo.sh")))
	_, errOut, code := run(t, home, "start", eco, "--env", "production")
	if code != 0 || strings.Contains(errOut, "not supported") {
		t.Fatalf("start: exit %d: %s", code, errOut)
	}
	p := waitOnline(t, home, "web-production")
	env := envOf(t, home, p.ID)
	for k, v := range map[string]string{"FOO": "base", "BAR": "prod", "DEPLOY_ONLY": "d"} {
		if env[k] != v {
			t.Errorf("%s=%q, want %q", k, env[k], v)
		}
	}
}

// TestFilterEnv_Issue14Item15: filter_env drops the caller's variables by prefix (true: all of them); the app's
// own env stays and its program is still found.
func TestFilterEnv_Issue14Item15(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	dir := t.TempDir()
	eco := writeFile(t, dir, "eco.json", fmt.Sprintf(`{"apps": [
  {"name": "pre", "script": %[1]q, "interpreter": "sh", "filter_env": ["SECRET_"]},
  {"name": "every", "script": %[1]q, "interpreter": "sh", "filter_env": true, "env": {"OWN": "1"}}]}`, fixture("echo.sh")))
	_, errOut, code := runWith(t, home, opts{env: []string{"SECRET_TOKEN=x", "KEEP_ME=y"}}, "start", eco)
	if code != 0 || strings.Contains(errOut, "not supported") {
		t.Fatalf("start: exit %d: %s", code, errOut)
	}
	pre := envOf(t, home, waitOnline(t, home, "pre").ID)
	if _, ok := pre["SECRET_TOKEN"]; ok || pre["KEEP_ME"] != "y" {
		t.Errorf("filter_env [SECRET_]: SECRET_TOKEN=%q KEEP_ME=%q; want it gone and KEEP_ME=y", pre["SECRET_TOKEN"], pre["KEEP_ME"])
	}
	all := envOf(t, home, waitOnline(t, home, "every").ID)
	if _, ok := all["KEEP_ME"]; ok || all["OWN"] != "1" || all["GPM_NAME"] != "every" {
		t.Errorf("filter_env true: KEEP_ME=%q OWN=%q GPM_NAME=%q; want KEEP_ME gone, OWN and GPM_NAME set", all["KEEP_ME"], all["OWN"], all["GPM_NAME"])
	}
}

// TestTreekillFalse_Issue14Item15: treekill: false sends the kill signal to the main process only (its child does
// not get it, and is killed at kill_timeout all the same); by default the whole group gets it.
func TestTreekillFalse_Issue14Item15(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	dir := t.TempDir()
	script := writeFile(t, dir, "tree.sh", `sh -c 'trap "echo child-got-term; exit 0" TERM; echo child-up; while :; do sleep 0.1; done' &
trap 'exit 0' TERM
wait
`)
	eco := writeFile(t, dir, "eco.json", fmt.Sprintf(`{"apps": [
  {"name": "tk", "script": %[1]q, "interpreter": "sh", "kill_signal": "SIGTERM", "kill_timeout": 1000},
  {"name": "notk", "script": %[1]q, "interpreter": "sh", "kill_signal": "SIGTERM", "kill_timeout": 1000, "treekill": false}]}`, script))
	_, errOut, code := run(t, home, "start", eco)
	if code != 0 || strings.Contains(errOut, "not supported") {
		t.Fatalf("start: exit %d: %s", code, errOut)
	}
	for _, n := range []string{"tk", "notk"} {
		waitOnline(t, home, n)
		waitFileContains(t, outLog(home, n), "child-up")
	}
	mustRun(t, home, "stop", "tk", "notk")
	waitFileContains(t, outLog(home, "tk"), "child-got-term")
	if s := readFile(t, outLog(home, "notk")); strings.Contains(s, "child-got-term") {
		t.Errorf("treekill: false: the child got the kill signal:\n%s", s)
	}
	if p := one(t, home, "notk"); p.Status != "stopped" {
		t.Errorf("notk: %s after stop, want stopped", p.Status)
	}
}

// TestShutdownWithMessage_Issue14Item15: a Node app with shutdown_with_message gets the message 'shutdown' on stop
// instead of dying of the signal; force and wait_ip are accepted without a warning.
func TestShutdownWithMessage_Issue14Item15(t *testing.T) {
	nodeOrSkip(t)
	t.Parallel()
	home := newHome(t)
	dir := t.TempDir()
	writeFile(t, dir, "graceful.js", `process.on('message', (m) => {
  if (m === 'shutdown') { console.log('got shutdown'); process.exit(0); }
});
console.log('up');
setInterval(() => {}, 1000);
`)
	eco := writeFile(t, dir, "eco.json", `{"apps": [{"name": "gr", "script": "graceful.js", "shutdown_with_message": true,
  "force": true, "wait_ip": true}]}`)
	_, errOut, code := run(t, home, "start", eco)
	if code != 0 || strings.Contains(errOut, "not supported") {
		t.Fatalf("start: exit %d: %s", code, errOut)
	}
	waitOnline(t, home, "gr")
	waitFileContains(t, outLog(home, "gr"), "up")
	mustRun(t, home, "stop", "gr")
	waitFileContains(t, outLog(home, "gr"), "got shutdown")
	if p := one(t, home, "gr"); p.ExitCode == nil || *p.ExitCode != 0 {
		t.Errorf("gr: exit %v, signal %q; want exit 0 (its own, on the message)", exitCode(p), p.ExitSignal)
	}
}

// TestLogDateWeekday_Issue14Item15: the dayjs token d in log_date_format is the day of the week as a number (it
// was written as a literal d).
func TestLogDateWeekday_Issue14Item15(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	before := strconv.Itoa(int(time.Now().Weekday()))
	mustRun(t, home, "start", fixture("echo.sh"), "--name", "wd", "--log-date-format", "[day ]d")
	log := waitFileContains(t, outLog(home, "wd"), "ready")
	after := strconv.Itoa(int(time.Now().Weekday()))
	for _, l := range lines(log) {
		if !strings.HasPrefix(l, "day "+before+": ") && !strings.HasPrefix(l, "day "+after+": ") {
			t.Errorf("line %q: want the prefix %q", l, "day "+after+": ")
		}
	}
}
