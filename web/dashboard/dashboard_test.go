package dashboard

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func get(t *testing.T, h http.Handler, method, path string, hdr map[string]string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func TestHandlerServesFiles(t *testing.T) {
	h := Handler()
	for _, tc := range []struct{ path, ctype, contains string }{
		{"/", "text/html; charset=utf-8", `<script type="module" src="app.js"></script>`},
		{"/app.js", "text/javascript; charset=utf-8", "import * as api from './api.js';"},
		{"/api.js", "text/javascript; charset=utf-8", "export function openStream"},
		{"/chart.js", "text/javascript; charset=utf-8", "export function newChart"},
		{"/format.js", "text/javascript; charset=utf-8", "export function bytes"},
		{"/style.css", "text/css; charset=utf-8", "@media"},
		{"/favicon.svg", "image/svg+xml", "<svg"},
	} {
		res := get(t, h, http.MethodGet, tc.path, nil)
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %d", tc.path, res.StatusCode)
			continue
		}
		if got := res.Header.Get("Content-Type"); got != tc.ctype {
			t.Errorf("GET %s: Content-Type %q, want %q", tc.path, got, tc.ctype)
		}
		if !strings.Contains(string(body), tc.contains) {
			t.Errorf("GET %s: body lacks %q", tc.path, tc.contains)
		}
		for k, want := range map[string]string{
			"Content-Security-Policy": CSP,
			"X-Content-Type-Options":  "nosniff",
			"Referrer-Policy":         "no-referrer",
			"X-Frame-Options":         "DENY",
			"Cache-Control":           "no-cache",
		} {
			if got := res.Header.Get(k); got != want {
				t.Errorf("GET %s: %s %q, want %q", tc.path, k, got, want)
			}
		}
		// A second request with the ETag is answered 304 without a body.
		etag := res.Header.Get("ETag")
		if etag == "" {
			t.Errorf("GET %s: no ETag", tc.path)
			continue
		}
		res = get(t, h, http.MethodGet, tc.path, map[string]string{"If-None-Match": etag})
		if res.StatusCode != http.StatusNotModified {
			t.Errorf("GET %s with If-None-Match: %d, want 304", tc.path, res.StatusCode)
		}
	}
}

func TestHandlerRefuses(t *testing.T) {
	h := Handler()
	for _, tc := range []struct {
		method, path string
		code         int
	}{
		{http.MethodGet, "/index.html", http.StatusNotFound}, // served at / only
		{http.MethodGet, "/static/app.js", http.StatusNotFound},
		{http.MethodGet, "/api/nothing", http.StatusNotFound},
		{http.MethodGet, "/../dashboard.go", http.StatusNotFound},
		{http.MethodGet, "/dashboard.go", http.StatusNotFound},
		{http.MethodPost, "/", http.StatusMethodNotAllowed},
		{http.MethodDelete, "/app.js", http.StatusMethodNotAllowed},
	} {
		res := get(t, h, tc.method, tc.path, nil)
		if res.StatusCode != tc.code {
			t.Errorf("%s %s: %d, want %d", tc.method, tc.path, res.StatusCode, tc.code)
		}
		if res.Header.Get("Content-Security-Policy") != CSP {
			t.Errorf("%s %s: no CSP on the error", tc.method, tc.path)
		}
	}
	res := get(t, h, http.MethodHead, "/", nil)
	if res.StatusCode != http.StatusOK {
		t.Errorf("HEAD /: %d", res.StatusCode)
	}
}

// TestNoInlineCode holds the files to what the CSP allows: a script or style in the page itself, or an event
// handler attribute, would be refused by the browser (and is what an injection would look like).
func TestNoInlineCode(t *testing.T) {
	if strings.Contains(CSP, "unsafe-") {
		t.Fatalf("the CSP allows unsafe sources: %s", CSP)
	}
	if !strings.HasPrefix(CSP, "default-src 'self'") {
		t.Fatalf("the CSP does not start with default-src 'self': %s", CSP)
	}
	page, err := fs.ReadFile(static, "static/index.html")
	if err != nil {
		t.Fatal(err)
	}
	scripts := regexp.MustCompile(`(?is)<script\b[^>]*>(.*?)</script>`).FindAllStringSubmatch(string(page), -1)
	if len(scripts) == 0 {
		t.Error("index.html loads no script")
	}
	for _, m := range scripts {
		if !regexp.MustCompile(`^<script type="module" src="[a-z]+\.js">`).MatchString(m[0]) || strings.TrimSpace(m[1]) != "" {
			t.Errorf("index.html: %q is not a module script of the page's own", m[0])
		}
	}
	for _, re := range []*regexp.Regexp{
		regexp.MustCompile(`(?i)\son[a-z]+\s*=`), // event handler attributes
		regexp.MustCompile(`(?i)<style`),
		regexp.MustCompile(`(?i)\sstyle\s*=`),
		regexp.MustCompile(`(?i)javascript:`),
		regexp.MustCompile(`(?i)(src|href)="([a-z]+:)?//`), // nothing from another origin
	} {
		for _, m := range re.FindAllString(string(page), -1) {
			t.Errorf("index.html: %q matches %s", m, re)
		}
	}
	// The JavaScript never parses text as HTML: what apps print goes in with textContent.
	err = fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || !strings.HasSuffix(p, ".js") {
			return err
		}
		b, err := fs.ReadFile(static, p)
		if err != nil {
			return err
		}
		for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function", "setAttribute('style'"} {
			if strings.Contains(string(b), bad) {
				t.Errorf("%s uses %s", p, bad)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
