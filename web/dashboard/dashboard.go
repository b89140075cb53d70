// Package dashboard is gpm's web dashboard: a page, its JavaScript modules and its stylesheet, embedded in the
// binary and served by Handler at `/` of the HTTP API (package web). The page talks only to that API (see
// docs/DASHBOARD.md); nothing is fetched from the network and nothing is built: the files in static/ are served as
// they are.
package dashboard

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed static
var static embed.FS

// CSP is the Content-Security-Policy of every answer: the page's own files only. No inline script or style
// (the JavaScript sets styles through the CSSOM, which CSP allows), no framing (clickjacking of the buttons), no
// form posting elsewhere, no <base> that would redirect the modules.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// contentTypes are the types of the files in static/, by extension. Set here rather than taken from
// mime.TypeByExtension, which reads the host's mime tables: a module script served as text/plain is refused by
// the browser.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
}

type asset struct {
	body  []byte
	ctype string
	etag  string
}

// Handler serves the dashboard: index.html at `/` and the other files of static/ by name (`/app.js`). Any other
// path is 404 and any method but GET and HEAD is 405, so that it can sit at `/` of a mux under the API's own
// routes. Answers carry an ETag (revalidated with If-None-Match) and the headers that lock the page down (CSP,
// nosniff, no referrer, no framing).
func Handler() http.Handler {
	assets := map[string]asset{}
	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		ctype, ok := contentTypes[path.Ext(p)]
		if !ok {
			return nil
		}
		b, err := static.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		name := strings.TrimPrefix(p, "static")
		if name == "/index.html" {
			name = "/"
		}
		assets[name] = asset{body: b, ctype: ctype, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		return nil
	})
	if err != nil {
		// The files are compiled in: a failure here is a broken build, not a runtime condition.
		panic("dashboard: reading the embedded files: " + err.Error())
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", CSP)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		a, ok := assets[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h.Set("Content-Type", a.ctype)
		h.Set("ETag", a.etag)
		// Revalidate every time: a new gpm binary serves new files at the same names.
		h.Set("Cache-Control", "no-cache")
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
	})
}
