// Command notify-crash is a gpm module (docs/MODULES.md): it follows the daemon's events through the public client
// package and, when an app exits without being asked to (a non-zero exit code or a signal), posts a JSON report
// (name, id, exit code or signal, the last lines of its logs) to a webhook and/or writes it to the systemd journal.
//
// Install: make build; gpm install bin/modules/notify-crash. Settings: gpm set notify-crash:webhook URL,
// gpm set notify-crash:journal true, gpm set notify-crash:lines 20 (at most 1000).
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gpmd/gpm/activation/journal"
	"github.com/gpmd/gpm/api"
	"github.com/gpmd/gpm/client"
)

// Limits and timings.
const (
	maxLines = 1000 // the lines setting
	// settle is how long a report waits after the exit before it reads the logs: the app's last lines travel
	// through its pipe and the daemon's log writer, apart from the exit.
	settle      = 300 * time.Millisecond
	postTimeout = 10 * time.Second
	// maxInFlight bounds the reports being prepared or posted at once; a crash loop past it is logged, not posted.
	maxInFlight = 16
)

// settings is GPM_MODULE_CONFIG.
type settings struct {
	Webhook string
	Journal bool
	Lines   int
}

// parseSettings reads GPM_MODULE_CONFIG: the manifest's defaults overlaid by `gpm set` (strings), so every value
// may be a string or a JSON value.
func parseSettings(raw string) (settings, error) {
	s := settings{Lines: 20}
	if raw == "" {
		return s, nil
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		return s, fmt.Errorf("GPM_MODULE_CONFIG: %w", err)
	}
	str := func(k string) string {
		switch v := m[k].(type) {
		case string:
			return strings.TrimSpace(v)
		case nil:
			return ""
		default:
			b, _ := json.Marshal(v)
			return string(b)
		}
	}
	s.Webhook = str("webhook")
	if v := str("journal"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return s, fmt.Errorf("journal: expected true or false, got %q", v)
		}
		s.Journal = b
	}
	if v := str("lines"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > maxLines {
			return s, fmt.Errorf("lines: expected 0..%d, got %q", maxLines, v)
		}
		s.Lines = n
	}
	if s.Webhook != "" && !strings.HasPrefix(s.Webhook, "http://") && !strings.HasPrefix(s.Webhook, "https://") {
		scheme, _, _ := strings.Cut(s.Webhook, ":") // not the rest: webhookShown
		return s, fmt.Errorf("webhook: expected an http:// or https:// URL, got one beginning %q", scheme)
	}
	return s, nil
}

// Report is what a crash posts.
type Report struct {
	Name     string    `json:"name"`
	ID       int       `json:"id"`
	PID      int       `json:"pid,omitempty"`
	ExitCode *int      `json:"exit_code"`
	Signal   string    `json:"signal,omitempty"`
	Status   string    `json:"status"` // what the daemon does next: launching, waiting, errored, stopped
	Reason   string    `json:"reason"`
	Time     time.Time `json:"time"`
	Host     string    `json:"host"`
	Lines    []string  `json:"lines"`
}

// crash returns the report of a state event that is an exit not asked for, with a non-zero code or a signal.
func crash(e api.Event) (Report, bool) {
	if e.Type != api.EventState {
		return Report{}, false
	}
	r := Report{Name: e.Name, ID: e.ID, PID: e.PID, Status: e.Status, Reason: e.Reason, Time: e.Time}
	// The daemon's reasons (service/policy.go): "exited with code N[; ...]" or "killed by SIGX[; ...]".
	head, _, _ := strings.Cut(e.Reason, ";")
	head, _, _ = strings.Cut(head, ",")
	if v, ok := strings.CutPrefix(head, "exited with code "); ok {
		code, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || code == 0 {
			return r, false
		}
		r.ExitCode = &code
		return r, true
	}
	if v, ok := strings.CutPrefix(head, "killed by "); ok {
		r.Signal = strings.TrimSpace(v)
		return r, true
	}
	return r, false
}

// notifier sends reports.
type notifier struct {
	home   string
	self   string // this module's name: its own exits are not reported (it is gone by then)
	cfg    settings
	http   *http.Client
	jrnl   *journal.Conn
	log    *log.Logger
	slots  chan struct{}
	wg     sync.WaitGroup
	dialer func(ctx context.Context) (*client.Client, error)
}

// run follows the daemon's events until ctx ends or the stream breaks (the daemon went away: the module exits
// and gpm starts it again).
func (n *notifier) run(ctx context.Context) error {
	c, err := n.dialer(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	defer n.wg.Wait()
	n.log.Printf("following crashes (webhook %q, journal %v, %d lines)", webhookShown(n.cfg.Webhook), n.cfg.Journal, n.cfg.Lines)
	return c.Subscribe(ctx, nil, func(e api.Event) error {
		r, ok := crash(e)
		if !ok || r.Name == n.self {
			return nil
		}
		select {
		case n.slots <- struct{}{}:
		default:
			n.log.Printf("%s[%d] crashed (%s): %d reports in flight already (maxInFlight), not sent", r.Name, r.ID, r.Reason, maxInFlight)
			return nil
		}
		n.wg.Go(func() {
			defer func() { <-n.slots }()
			if err := n.report(ctx, r); err != nil {
				n.log.Printf("%s[%d]: %v", r.Name, r.ID, err)
			}
		})
		return nil
	})
}

// report completes r with the app's last log lines and sends it.
func (n *notifier) report(ctx context.Context, r Report) error {
	select {
	case <-time.After(settle):
	case <-ctx.Done():
		return ctx.Err()
	}
	r.Host, _ = os.Hostname()
	r.Lines = []string{}
	if n.cfg.Lines > 0 {
		lines, err := n.lastLines(ctx, r.ID)
		if err != nil {
			n.log.Printf("%s[%d]: logs: %v", r.Name, r.ID, err)
		}
		r.Lines = lines
	}
	var errs []error
	if n.cfg.Webhook != "" {
		errs = append(errs, n.post(ctx, r))
	}
	if n.jrnl != nil {
		errs = append(errs, n.journal(r))
	}
	return errors.Join(errs...)
}

// lastLines returns the last cfg.Lines lines of process id's logs (out, then err).
func (n *notifier) lastLines(ctx context.Context, id int) ([]string, error) {
	c, err := n.dialer(ctx)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	lines := []string{}
	err = c.Logs(ctx, api.LogsParams{Targets: []string{strconv.Itoa(id)}, Lines: n.cfg.Lines, NoStream: true}, func(e api.Event) error {
		if e.Type == api.EventLog {
			lines = append(lines, e.Line)
		}
		return nil
	})
	if len(lines) > n.cfg.Lines {
		lines = lines[len(lines)-n.cfg.Lines:]
	}
	return lines, err
}

func (n *notifier) post(ctx context.Context, r Report) error {
	body, err := json.Marshal(r)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, postTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.cfg.Webhook, bytes.NewReader(body))
	if err != nil { // not the error itself: it quotes the whole URL
		return fmt.Errorf("webhook %s: not a valid URL", webhookShown(n.cfg.Webhook))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "gpm-notify-crash")
	resp, err := n.http.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) { // its message holds the whole URL
			err = ue.Err
		}
		return fmt.Errorf("webhook %s: %w", webhookShown(n.cfg.Webhook), err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("webhook %s: %s", webhookShown(n.cfg.Webhook), resp.Status)
	}
	n.log.Printf("%s[%d] crashed (%s): posted to %s", r.Name, r.ID, r.Reason, webhookShown(n.cfg.Webhook))
	return nil
}

// webhookShown is the webhook URL as the log shows it: scheme and host. The rest is a secret more often than not
// (Slack's, Discord's and most others' URLs carry their token in the path or the query, some a password before the
// host), and the log is kept in the module's log files.
func webhookShown(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "(a webhook URL)"
	}
	shown := u.Scheme + "://" + u.Host
	if u.Path != "" && u.Path != "/" || u.RawQuery != "" {
		shown += "/…"
	}
	return shown
}

func (n *notifier) journal(r Report) error {
	msg := fmt.Sprintf("gpm: %s[%d] crashed: %s", r.Name, r.ID, r.Reason)
	if len(r.Lines) > 0 {
		msg += "\n" + strings.Join(r.Lines, "\n")
	}
	code := ""
	if r.ExitCode != nil {
		code = strconv.Itoa(*r.ExitCode)
	}
	fields := []journal.Field{{Key: "MESSAGE", Value: msg}, {Key: "PRIORITY", Value: strconv.Itoa(journal.PriErr)},
		{Key: "SYSLOG_IDENTIFIER", Value: "gpm-notify-crash"}, {Key: "GPM_APP", Value: r.Name},
		{Key: "GPM_ID", Value: strconv.Itoa(r.ID)}, {Key: "GPM_EXIT_CODE", Value: code}, {Key: "GPM_SIGNAL", Value: r.Signal}}
	if err := n.jrnl.Send(fields...); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	return nil
}

func main() {
	logger := log.New(os.Stderr, "", 0)
	cfg, err := parseSettings(os.Getenv("GPM_MODULE_CONFIG"))
	if err != nil {
		logger.Fatalf("notify-crash: %v", err)
	}
	home, err := api.Home()
	if err != nil {
		logger.Fatalf("notify-crash: %v", err)
	}
	n := &notifier{home: home, self: os.Getenv("GPM_MODULE_NAME"), cfg: cfg, http: &http.Client{Timeout: postTimeout},
		log: logger, slots: make(chan struct{}, maxInFlight),
		dialer: func(ctx context.Context) (*client.Client, error) { return client.Dial(ctx, home) }}
	if cfg.Journal {
		if n.jrnl, err = journal.Dial(""); err != nil {
			logger.Printf("notify-crash: %v: journal reports off", err)
		} else {
			defer n.jrnl.Close()
		}
	}
	if cfg.Webhook == "" && n.jrnl == nil {
		logger.Printf("notify-crash: nowhere to report: gpm set notify-crash:webhook URL, or notify-crash:journal true")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := n.run(ctx); err != nil && ctx.Err() == nil {
		logger.Fatalf("notify-crash: %v", err)
	}
}
