package web

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"mime"
	"net"
	"net/http"
	"strings"

	"github.com/gpmd/gpm/api"
)

// The access rules (docs/HTTP.md "Authentication"):
//   - A request with `Authorization: Bearer TOKEN` is admitted when TOKEN is the token; a wrong one is 401.
//   - Without a token, only a GET (or HEAD) that arrived on a loopback address or the unix socket is admitted, and
//     only with a Host that names loopback (a page whose DNS name was rebound to 127.0.0.1 sends its own name:
//     403) and not marked cross-site by the browser (Sec-Fetch-Site). Everything else is 401. Such a read over TCP
//     gets the processes without their env (hideEnv): every local user reaches loopback.
//   - No cookie is read or set and no CORS header is ever sent, so a page of another origin can neither send the
//     token nor read an answer; a POST must be `Content-Type: application/json` (415 otherwise), which an HTML form
//     cannot send.

// read wraps the handler of a GET: the token is optional on loopback.
func (s *Server) read(h http.HandlerFunc) http.HandlerFunc {
	return s.guard(false, h)
}

// write wraps the handler of a POST: the token is required, the body must be JSON and at most limit bytes (the
// handler reads it with readBody, which names the limit).
func (s *Server) write(limit int64, h http.HandlerFunc) http.HandlerFunc {
	return s.guard(true, func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		h(w, r)
	})
}

func (s *Server) guard(needToken bool, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.stats.requests.Add(1)
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if status, err := s.admit(r, needToken); err != nil {
			s.stats.refused.Add(1)
			if status == http.StatusUnauthorized {
				w.Header().Set("WWW-Authenticate", `Bearer realm="gpm"`)
			}
			writeError(w, status, err)
			return
		}
		if needToken {
			if status, err := checkBody(r); err != nil {
				writeError(w, status, err)
				return
			}
		}
		h(w, r)
	}
}

// admit applies the access rules to r: 0 and nil when it may go on, else the status and error to answer.
func (s *Server) admit(r *http.Request, needToken bool) (int, *api.Error) {
	if auth := r.Header.Get("Authorization"); auth != "" {
		scheme, given, ok := strings.Cut(auth, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return http.StatusUnauthorized, &api.Error{Code: codeUnauthorized, Message: "Authorization must be `Bearer TOKEN` (the token is in $GPM_HOME/web.token)"}
		}
		if !s.tokenIs(strings.TrimSpace(given)) {
			return http.StatusUnauthorized, &api.Error{Code: codeUnauthorized, Message: "wrong token (the token is in $GPM_HOME/web.token; gpm web prints a link with it)"}
		}
		return 0, nil
	}
	if needToken || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		return http.StatusUnauthorized, &api.Error{Code: codeUnauthorized, Message: r.Method + " " + r.URL.Path + " needs `Authorization: Bearer TOKEN` (the token is in $GPM_HOME/web.token)"}
	}
	if !arrivedLocally(r) {
		return http.StatusUnauthorized, &api.Error{Code: codeUnauthorized, Message: "this address is not loopback: every request needs `Authorization: Bearer TOKEN` (the token is in $GPM_HOME/web.token)"}
	}
	if !loopbackHost(r.Host) {
		return http.StatusForbidden, &api.Error{Code: api.CodeDenied, Message: fmt.Sprintf(
			"Host %q is not a loopback name: a request without a token must name localhost, 127.0.0.1 or [::1] (a page's DNS name rebound to loopback would not)", r.Host)}
	}
	if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
		return http.StatusForbidden, &api.Error{Code: api.CodeDenied, Message: "a cross-site request without a token is refused"}
	}
	return 0, nil
}

// codeUnauthorized is the error code of a missing or wrong token.
const codeUnauthorized = "unauthorized"

// tokenIs compares given with the token in constant time: both are hashed first, so that neither their contents
// nor their lengths show in the time taken.
func (s *Server) tokenIs(given string) bool {
	want := s.currentToken()
	if want == "" || given == "" {
		return false
	}
	a, b := sha256.Sum256([]byte(given)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

// arrivedLocally reports whether r came in on a loopback address or a unix socket (whose directory only the
// daemon's user can enter).
func arrivedLocally(r *http.Request) bool {
	switch a := r.Context().Value(http.LocalAddrContextKey).(type) {
	case *net.TCPAddr:
		return a.IP.IsLoopback()
	case *net.UnixAddr:
		return true
	}
	return false
}

// loopbackHost reports whether the Host header names loopback: localhost (with or without a trailing dot),
// 127.0.0.0/8 or ::1, with or without a port. An empty host is not (`Host: :9615` got around such a check
// elsewhere).
func loopbackHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.Trim(host, "[]"), ".")
	if host == "" {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// checkBody refuses a POST whose body is not JSON: 415 for another Content-Type, which also keeps HTML forms (and
// with them cross-site requests that need no preflight) out.
func checkBody(r *http.Request) (int, *api.Error) {
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return http.StatusUnsupportedMediaType, &api.Error{Code: api.CodeInvalid, Message: fmt.Sprintf(
			"Content-Type %q: the body must be application/json", ct)}
	}
	return 0, nil
}
