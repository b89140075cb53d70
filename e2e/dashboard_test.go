//go:build linux

package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gpmd/gpm/api"
)

// artifactsDir holds what a test leaves for people to look at (CI keeps it): e2e/artifacts.
const artifactsDir = "artifacts"

// browserTimeout bounds one browser step; waits end as soon as their condition holds.
var browserTimeout = patient(20 * time.Second)

// chromium returns the path of Debian's chromium (or another Chromium-based browser). Without one the test skips,
// unless GPM_CI=1: CI installs chromium, so there a missing browser is a failure, not a reason to pass.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless_shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("GPM_CI") == "1" {
		t.Fatal("no chromium in PATH, and GPM_CI=1: .ci/run installs Debian's chromium for this test")
	}
	t.Skip("no chromium in PATH: apt-get install chromium to run the dashboard test")
	return ""
}

// browserMessages collects what the page wrote to its console, its uncaught exceptions and the browser's own log
// (where a Content-Security-Policy refusal appears).
type browserMessages struct {
	mu   sync.Mutex
	msgs []chromedp.ConsoleMessage
}

func (b *browserMessages) all() []chromedp.ConsoleMessage {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]chromedp.ConsoleMessage(nil), b.msgs...)
}

// newBrowser starts a headless Chromium with the flags this machine needs (no sandbox as root; nothing that
// reaches for the network on its own) and a fresh profile, and returns a tab's context. The browser dies with
// the test.
func newBrowser(t *testing.T, path string) (context.Context, *browserMessages) {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancelTab := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	t.Cleanup(cancelTab)
	// The first action starts the browser and ties it to its context: that context must live as long as the
	// test, so the bound on the start is the test's whole budget.
	ctx, cancelAll := context.WithTimeout(ctx, patient(3*time.Minute))
	t.Cleanup(cancelAll)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting %s: %v", path, err)
	}
	msgs := &browserMessages{}
	console := chromedp.Console(ctx)
	go func() {
		for m, err := range console {
			if err != nil {
				return
			}
			msgs.mu.Lock()
			msgs.msgs = append(msgs.msgs, m)
			msgs.mu.Unlock()
		}
	}()
	return ctx, msgs
}

// step runs actions on the tab with a timeout and fails the test with what on an error.
func step(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, browserTimeout)
	defer cancel()
	if err := chromedp.Do(sctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, browserTimeout)
	defer cancel()
	v, err := chromedp.Run(sctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// evalAwait evaluates a JavaScript expression whose value is a promise, and returns what it resolves to.
func evalAwait[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, browserTimeout)
	defer cancel()
	v, err := chromedp.Run(sctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// waitPage waits until the JavaScript expression is truthy in the page; on a timeout it fails with what and the
// value of show, an expression that tells what the page looked like.
func waitPage(t *testing.T, ctx context.Context, timeout time.Duration, expr, show, what string) {
	t.Helper()
	timeout = patient(timeout)
	sctx, cancel := context.WithTimeout(ctx, timeout+5*time.Second)
	defer cancel()
	_, err := chromedp.Run(sctx, chromedp.Poll[chromedp.Void](expr,
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(timeout)))
	if err != nil {
		seen := eval[string](t, ctx, show)
		t.Fatalf("waiting %v for %s: %v\nthe page showed: %s", timeout, what, err, seen)
	}
}

// freeAddr returns a loopback address with a port free at the time of the call.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func saveArtifact(t *testing.T, name string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(artifactsDir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(artifactsDir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs(p)
	t.Logf("screenshot: %s", abs)
}

// TestDashboardChromium drives the web dashboard in a real headless Chromium: the page loads with the token from
// the link `gpm web` prints, an app started from the CLI appears in its table without a reload, its restart
// button restarts it (a new pid in jlist and on the page), its log tail shows what it prints as text, and the page
// fits a phone's width. Screenshots go to e2e/artifacts/.
func TestDashboardChromium(t *testing.T) {
	t.Parallel()
	browser := chromium(t)
	home := newHome(t)
	addr := freeAddr(t)
	out := mustRun(t, home, "web", addr) // a daemon with no app: gpm web moves it to gpmd-web (TestWebProgram)
	token := strings.TrimSpace(readFile(t, filepath.Join(home, "web.token")))
	if token == "" {
		t.Fatalf("gpm web wrote no token to %s", filepath.Join(home, "web.token"))
	}
	base := "http://" + addr
	// The page is opened with the link gpm web printed, as a person would.
	link := base + "/#token=" + token
	if !strings.Contains(out, link) {
		t.Errorf("gpm web did not print the link %s:\n%s", link, out)
	}
	hc := &http.Client{Timeout: 5 * time.Second}
	waitFor(t, 10*time.Second, func() bool {
		res, err := hc.Get(base + "/")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == http.StatusOK
	}, "the dashboard at "+base)

	ctx, console := newBrowser(t, browser)
	t.Cleanup(func() {
		if t.Failed() {
			for _, m := range console.all() {
				t.Logf("browser console: %s", m)
			}
		}
	})
	const state = `document.body.dataset.stream + ' | ' + document.querySelector('#procs tbody').innerText + ' | ' + document.querySelector('#notice').innerText`

	step(t, ctx, "loading the page", chromedp.Navigate(link))
	waitPage(t, ctx, 10*time.Second, `document.body.dataset.stream === 'live'`, state, "the event stream to be live")
	if loc := eval[string](t, ctx, `location.href`); strings.Contains(loc, token) || strings.Contains(loc, "#") {
		t.Errorf("the token is still in the address bar: %s", loc)
	}
	if got := eval[string](t, ctx, `sessionStorage.getItem('gpm.token') || ''`); got != token {
		t.Errorf("sessionStorage holds %q, want the token", got)
	}
	if eval[bool](t, ctx, `!document.querySelector('#token-form').hidden`) {
		t.Error("the token form is shown although the link carried the token")
	}
	// The page's SSE parser, on a stream cut at awkward places (a CRLF split across chunks, a message without data,
	// a comment, a last message without its blank line, which is not dispatched).
	parsed := evalAwait[string](t, ctx, `(async () => {
		const m = await import(location.origin + '/api.js');
		const chunks = ['retry: 5\r', '\nid: 7\r\ndata: {"a":', '1}\r\n\r', '\n: keepalive\n\nid: 8\ndata: x\ndata:y\n\nid: 9\n\n', 'data: cut'];
		const enc = new TextEncoder();
		const body = new ReadableStream({ start(c) { for (const x of chunks) c.enqueue(enc.encode(x)); c.close(); } });
		const got = [];
		await m.parseSSE(body, (msg) => got.push(msg));
		return JSON.stringify(got);
	})()`)
	const wantParsed = `[{"id":"7","event":"message","data":"{\"a\":1}","retry":5},{"id":"8","event":"message","data":"x\ny","retry":5},{"id":"9","event":"","data":"","retry":5}]`
	if parsed != wantParsed {
		t.Errorf("parseSSE:\n got %s\nwant %s", parsed, wantParsed)
	}

	// A reload would lose this mark: the app must appear while it stays.
	eval[chromedp.Void](t, ctx, `window.gpmTestMark = 'same document'`)

	// An app whose output looks like HTML: the log pane must show it as text.
	dir := t.TempDir()
	script := filepath.Join(dir, "dash.sh")
	body := "#!/bin/sh\necho '<b id=\"xss\">bold</b> & <i>x</i>'\nwhile :; do echo \"dash tick $$\"; sleep 1; done\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	mustRun(t, home, "start", script, "--name", "dash-app")
	p := waitOnline(t, home, "dash-app")
	const row = `tr[data-name="dash-app"]`
	pidOnPage := func(pid int) string {
		return fmt.Sprintf(`(document.querySelector('%s td.pid') || {}).textContent === '%d' && document.querySelector('%s').dataset.status === 'online'`, row, pid, row)
	}
	waitPage(t, ctx, 10*time.Second, pidOnPage(p.PID), state, fmt.Sprintf("dash-app with pid %d in the table", p.PID))
	if got := eval[string](t, ctx, `window.gpmTestMark || ''`); got != "same document" {
		t.Fatalf("the page was reloaded to show the app (mark %q)", got)
	}

	// The restart button: a new pid, in jlist and on the page.
	step(t, ctx, "clicking restart", chromedp.Click(chromedp.CSS(row+` button[data-action="restart"]`)))
	np := waitProc(t, home, "dash-app", 20*time.Second, "a new pid after the restart button", func(q api.Process) bool {
		return isOnline(q) && q.PID != p.PID
	})
	waitPage(t, ctx, 10*time.Second, pidOnPage(np.PID), state, fmt.Sprintf("dash-app's new pid %d in the table", np.PID))
	if np.Restarts < 1 {
		t.Errorf("restarts = %d after the restart button, want ≥ 1", np.Restarts)
	}

	// A drop: the API goes off and on again (a new server, the same token). The page reconnects by itself, asking
	// to resume after the last event it saw, and shows what happened meanwhile.
	mustRun(t, home, "web", "--off")
	waitPage(t, ctx, 10*time.Second, `document.body.dataset.stream !== 'live'`, state, "the page to see the stream drop")
	// Its name is HTML too (names may hold anything but slashes and control characters): it must show as text.
	const nameTwo = `two<img src=x onerror=alert(1)>`
	mustRun(t, home, "start", script, "--name", nameTwo)
	two := waitOnline(t, home, nameTwo)
	mustRun(t, home, "web", addr)
	waitPage(t, ctx, 30*time.Second, `document.body.dataset.stream === 'live' && document.body.dataset.resumed === 'true'`, state,
		"the page to reconnect with Last-Event-ID")
	rowTwo := fmt.Sprintf(`tr[data-id="%d"]`, two.ID)
	waitPage(t, ctx, 10*time.Second, fmt.Sprintf(`(document.querySelector('%s td.pid') || {}).textContent === '%d'`, rowTwo, two.PID), state,
		"the app started while the stream was down, in the table")
	if got := eval[string](t, ctx, `document.querySelector('`+rowTwo+` td.name button').textContent`); got != nameTwo {
		t.Errorf("the name shows as %q, want %q", got, nameTwo)
	}
	if eval[bool](t, ctx, `document.querySelector('#procs img') !== null`) {
		t.Error("an app's name was inserted as HTML")
	}
	mustRun(t, home, "delete", nameTwo)
	waitPage(t, ctx, 10*time.Second, `document.querySelector('`+rowTwo+`') === null`, state, "the app gone from the table after gpm delete")
	if got := eval[string](t, ctx, `window.gpmTestMark || ''`); got != "same document" {
		t.Fatalf("the page was reloaded (mark %q)", got)
	}

	// Details and the log tail: the name opens them; lines that look like HTML stay text.
	// The notice floats over the page (bottom, clicks pass through): showing it does not move the table, so that a
	// click on a row lands where it was aimed (in the flow, a notice that came or went between chromedp reading a
	// button's box and pressing the mouse made the click land beside it).
	const tableTop = `document.querySelector('#procs').getBoundingClientRect().top`
	top := eval[float64](t, ctx, `(() => { document.querySelector('#notice').hidden = true; return `+tableTop+` })()`)
	eval[bool](t, ctx, `(() => { const n = document.querySelector('#notice'); n.textContent = 'a notice'; n.hidden = false; return true })()`)
	if moved := eval[float64](t, ctx, tableTop); moved != top {
		t.Errorf("a notice moved the table from %v to %v px", top, moved)
	}
	if got := eval[string](t, ctx, `getComputedStyle(document.querySelector('#notice')).pointerEvents`); got != "none" {
		t.Errorf("the notice takes clicks (pointer-events %q): it covers the page", got)
	}
	eval[bool](t, ctx, `(() => { document.querySelector('#notice').hidden = true; return true })()`)
	const detailsOpen = `!document.querySelector('#details').hidden && document.querySelector('#d-title').textContent.startsWith('dash-app')`
	step(t, ctx, "opening the details", chromedp.Click(chromedp.CSS(row+` td.name button`)))
	const logs = `document.querySelector('#d-logs').innerText`
	waitPage(t, ctx, 10*time.Second, detailsOpen, state, "the details of dash-app")
	waitPage(t, ctx, 10*time.Second, fmt.Sprintf(`%s.includes('dash tick %d')`, logs, np.PID), logs, "a live log line of the new run in the log pane")
	waitPage(t, ctx, 10*time.Second, logs+`.includes('<b id="xss">bold</b> & <i>x</i>')`, logs, "the HTML-looking line, as text")
	if eval[bool](t, ctx, `document.querySelector('#xss') !== null || document.querySelector('#d-logs b, #d-logs i') !== null`) {
		t.Error("a log line was inserted as HTML")
	}
	// The charts get a point per sample event (2 s apart): wait for a line with a figure of the new run.
	waitPage(t, ctx, 20*time.Second, `document.querySelector('#d-mem-chart path.line').getAttribute('d').includes('L') && /^[1-9]/.test(document.querySelector('#d-mem-now').textContent)`,
		`document.querySelector('#d-mem-now').textContent + ' ' + document.querySelector('#d-mem-chart').innerHTML`, "the memory chart of dash-app")
	waitPage(t, ctx, 10*time.Second, `/processes\s*1/.test(document.querySelector('#host').innerText)`, `document.querySelector('#host').innerText`,
		"the host figures, with one process")

	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100: PNG, the whole page
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	saveArtifact(t, "dashboard.png", png)

	// A phone: the table turns into cards, nothing wider than the screen.
	step(t, ctx, "a phone's viewport", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulateTouch))
	waitPage(t, ctx, 10*time.Second, `document.documentElement.scrollWidth <= window.innerWidth`,
		`document.documentElement.scrollWidth + ' > ' + window.innerWidth`, "the page to fit a 390 px wide screen")
	if w := eval[float64](t, ctx, `document.querySelector('`+row+` button[data-action="restart"]').getBoundingClientRect().width`); w < 40 {
		t.Errorf("the restart button is %.0f px wide on a phone, too small to tap", w)
	}
	step(t, ctx, "scrolling to the top", chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`))
	png, err = chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	saveArtifact(t, "dashboard-phone.png", png)

	// A browser that opens the page without the link: the form asks for the token. A wrong one is refused at the
	// first action and asked for again; with the right one, stop and start work. (A second browser rather than a
	// second tab: chromedp's Evaluate in a tab opened beside a live one never returned here.)
	tab, _ := newBrowser(t, browser)
	step(t, tab, "a page without the token", chromedp.Navigate(base+"/"))
	waitPage(t, tab, 10*time.Second, `!document.querySelector('#token-form').hidden`, state, "the token form")
	// GETs on loopback need no token: the table is there before the form is answered.
	waitPage(t, tab, 10*time.Second, pidOnPage(np.PID), state, "dash-app in the table of the tab without a token")
	// The form is submitted as its button would (requestSubmit fires the submit event and the form's checks): a
	// click goes to coordinates, and the table filling in above the form moved it under a click on a loaded machine.
	step(t, tab, "a wrong token",
		chromedp.SendKeys(chromedp.CSS(`#token-input`), "0123wrong"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('#token-form').requestSubmit()`))
	// The page takes it, and may already have been told it is wrong: the live stream it opens with it is refused
	// (401) as soon as the daemon answers, which on a fast machine is before this looks.
	waitPage(t, tab, 10*time.Second, `document.querySelector('#token-form').hidden || document.querySelector('#token-msg').textContent.includes('refused')`,
		state, "the form to take the token")
	step(t, tab, "clicking stop with the wrong token", chromedp.Click(chromedp.CSS(row+` button[data-action="stop"]`)))
	waitPage(t, tab, 10*time.Second, `!document.querySelector('#token-form').hidden && sessionStorage.getItem('gpm.token') === null`,
		state+` + ' | ' + document.querySelector('#token-msg').textContent`, "the form again after the daemon refused the token")
	if q := one(t, home, "dash-app"); !isOnline(q) || q.PID != np.PID {
		t.Fatalf("an action with a wrong token changed dash-app: status %s pid %d", q.Status, q.PID)
	}
	step(t, tab, "the right token",
		chromedp.SendKeys(chromedp.CSS(`#token-input`), token),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('#token-form').requestSubmit()`))
	waitPage(t, tab, 10*time.Second, `document.querySelector('#token-form').hidden && document.body.dataset.stream === 'live'`, state,
		"the page live with the token typed in")
	step(t, tab, "clicking stop", chromedp.Click(chromedp.CSS(row+` button[data-action="stop"]`)))
	waitProc(t, home, "dash-app", 20*time.Second, "dash-app stopped by its button", func(q api.Process) bool { return q.Status == api.StatusStopped })
	waitPage(t, tab, 10*time.Second, `document.querySelector('`+row+`').dataset.status === 'stopped' && !document.querySelector('`+row+` button[data-action="start"]').disabled`,
		state, "dash-app stopped on the page, its start button enabled")
	step(t, tab, "clicking start", chromedp.Click(chromedp.CSS(row+` button[data-action="start"]`)))
	started := waitOnline(t, home, "dash-app")
	waitPage(t, tab, 10*time.Second, pidOnPage(started.PID), state, "dash-app started again by its button")

	// Nothing the page did was refused by its Content-Security-Policy, and nothing threw.
	for _, m := range console.all() {
		if m.IsException() || strings.Contains(m.Text, "Content Security Policy") {
			t.Errorf("browser console: %s", m)
		}
	}
}
