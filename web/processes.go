package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"

	"github.com/gpmd/gpm/api"
	"github.com/gpmd/gpm/config/procfile"
)

// handleList answers GET /api/processes: every process, as `gpm jlist` prints them.
func (s *Server) handleList(w http.ResponseWriter, r *http.Request) {
	var list []api.Process
	if err := s.caller.Call(r.Context(), api.MethodList, nil, &list); err != nil {
		s.fail(w, err)
		return
	}
	if list == nil {
		list = []api.Process{}
	}
	hideEnv(r, list)
	writeJSON(w, http.StatusOK, list)
}

// hideEnv leaves each process's env out of list when r came over TCP without a token. A read without one is
// admitted on loopback, which every local user reaches, not only those the control socket admits; an app's env
// holds its secrets, which the system shows to nobody but the app's owner either (/proc/PID/environ is 0400). The
// rest of the record (what ps and /proc show anyway) stays. A request that carries a token got here with the right
// one; the unix socket (0600) admits only the daemon's user.
func hideEnv(r *http.Request, list []api.Process) {
	if r.Header.Get("Authorization") != "" {
		return
	}
	if _, unix := r.Context().Value(http.LocalAddrContextKey).(*net.UnixAddr); unix {
		return
	}
	for i := range list {
		list[i].Config.Env = nil
	}
}

// handleGet answers GET /api/processes/{id|name}: the processes with that id (one) or name (one per instance), as
// an array, so that the answer has one shape; 404 when there is none.
func (s *Server) handleGet(w http.ResponseWriter, r *http.Request) {
	target := r.PathValue("target")
	var list []api.Process
	if err := s.caller.Call(r.Context(), api.MethodList, nil, &list); err != nil {
		s.fail(w, err)
		return
	}
	out := []api.Process{}
	id, err := strconv.Atoi(target)
	for _, p := range list {
		if (err == nil && p.ID == id) || (err != nil && p.Name == target) {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		writeError(w, http.StatusNotFound, &api.Error{Code: api.CodeNotFound, Message: fmt.Sprintf("process or app %s not found", target)})
		return
	}
	hideEnv(r, out)
	writeJSON(w, http.StatusOK, out)
}

// defaultLogLines is ?lines= when not given, as `gpm logs`.
const defaultLogLines = 15

// handleLogs answers GET /api/processes/{id|name}/logs?lines=N: the last N lines of each of the target's log
// files, as an array of log events (the control socket's logs with nostream).
func (s *Server) handleLogs(w http.ResponseWriter, r *http.Request) {
	lines := defaultLogLines
	if v := r.URL.Query().Get("lines"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			writeError(w, http.StatusBadRequest, &api.Error{Code: api.CodeInvalid, Message: fmt.Sprintf("lines=%q: a number of lines, 0 or more", v)})
			return
		}
		if n > MaxLogLines {
			writeError(w, http.StatusRequestEntityTooLarge, &api.Error{Code: api.CodeTooLarge, Message: fmt.Sprintf(
				"lines=%d is over the limit of %d (api.MaxLogLines); the log files have every line", n, MaxLogLines)})
			return
		}
		lines = n
	}
	p := api.LogsParams{Targets: []string{r.PathValue("target")}, Lines: lines, NoStream: true}
	switch r.URL.Query().Get("stream") {
	case "out":
		p.Out = true
	case "err":
		p.Err = true
	}
	out := []api.Event{}
	var size int64
	err := s.caller.Stream(r.Context(), api.MethodLogs, p, func(e api.Event) error {
		if e.Type == api.EventLog {
			// The answer's JSON, about: the line and the name, and ~70 bytes of keys and numbers.
			if size += int64(len(e.Line) + len(e.Name) + 70); size > MaxLogsAnswer {
				return &api.Error{Code: api.CodeTooLarge, Message: fmt.Sprintf(
					"the last %d lines of %s are over the limit of %d bytes of an answer (web.MaxLogsAnswer): ask for fewer (?lines=); the log files have every line",
					lines, p.Targets[0], MaxLogsAnswer)}
			}
			out = append(out, e)
		}
		return nil
	})
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// handleVersion answers GET /api/version: the daemon's version, protocol and pid.
func (s *Server) handleVersion(w http.ResponseWriter, r *http.Request) {
	var v api.VersionInfo
	if err := s.caller.Call(r.Context(), api.MethodVersion, nil, &v); err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// ActionParams is the optional body of POST /api/processes/{id|name}/{action}: Signal for "signal" (required
// there), Parallel for reload. Unknown fields are refused.
type ActionParams struct {
	Signal   string `json:"signal,omitempty"`
	Parallel int    `json:"parallel,omitempty"`
}

// handleAction answers POST /api/processes/{target}/{action}. The target is what the CLI takes (an id, a name, a
// namespace or all); the answer is the processes acted on, as the CLI's table shows them.
func (s *Server) handleAction(w http.ResponseWriter, r *http.Request) {
	var p ActionParams
	if err := readBody(r, MaxActionBody, "MaxActionBody", &p); err != nil {
		s.fail(w, err)
		return
	}
	targets := []string{r.PathValue("target")}
	var method string
	var params any
	switch action := r.PathValue("action"); action {
	case "start", "restart":
		// `gpm start NAME` of a known app restarts it (PM2's smart start); a stopped app is started.
		method, params = api.MethodRestart, api.RestartParams{Targets: targets}
	case "stop":
		method, params = api.MethodStop, api.Targets{Targets: targets}
	case "delete":
		method, params = api.MethodDelete, api.Targets{Targets: targets}
	case "reset":
		method, params = api.MethodReset, api.Targets{Targets: targets}
	case "reload":
		method, params = api.MethodReload, api.ReloadParams{Targets: targets, Parallel: p.Parallel}
	case "signal":
		if p.Signal == "" {
			writeError(w, http.StatusBadRequest, &api.Error{Code: api.CodeInvalid, Message: `signal: missing: the body must be {"signal": "SIGUSR2"} (a name or number)`})
			return
		}
		method, params = api.MethodSignal, api.SignalParams{Signal: p.Signal, Targets: targets}
	default:
		writeError(w, http.StatusNotFound, &api.Error{Code: api.CodeNotFound, Message: fmt.Sprintf(
			"no action %q: start, stop, restart, reload, delete, reset or signal", action)})
		return
	}
	var out json.RawMessage
	if err := s.caller.Call(r.Context(), method, params, &out); err != nil {
		s.fail(w, err)
		return
	}
	writeRaw(w, http.StatusOK, out)
}

// StartResult answers POST /api/processes: the processes started (or restarted with the file's configuration) and
// the file's warnings (fields ignored).
type StartResult struct {
	Processes json.RawMessage `json:"processes"`
	Warnings  []string        `json:"warnings,omitempty"`
}

// processFileName names the body of POST /api/processes in errors (config's messages name the file and line).
const processFileName = "request.json"

// handleStartFile answers POST /api/processes: the body is a process file in JSON (an object with "apps", an
// array of apps, or one app), parsed as `gpm start file.json` parses one; relative paths resolve against "/" (the
// daemon has no working directory of the caller's). ?only=a,b and ?env=NAME are --only and --env.
func (s *Server) handleStartFile(w http.ResponseWriter, r *http.Request) {
	data, err := io.ReadAll(r.Body)
	if err != nil {
		s.fail(w, bodyError(err, MaxProcessFile, "MaxProcessFile"))
		return
	}
	opts := procfile.LoadOptions{Env: r.URL.Query().Get("env")}
	if only := r.URL.Query().Get("only"); only != "" {
		opts.Only = []string{only}
	}
	file, err := procfile.Parse(processFileName, data, "/", opts)
	if err != nil {
		writeError(w, http.StatusBadRequest, &api.Error{Code: api.CodeInvalid, Message: err.Error()})
		return
	}
	// The daemon checks again; this check knows the file and line of the field at fault.
	if err := file.CheckRunnable(os.Getenv("PATH")); err != nil {
		writeError(w, http.StatusBadRequest, &api.Error{Code: api.CodeInvalid, Message: err.Error()})
		return
	}
	params := api.StartParams{}
	for _, a := range file.Apps {
		params.Apps = append(params.Apps, api.StartApp{App: a})
	}
	var out json.RawMessage
	if err := s.caller.Call(r.Context(), api.MethodStart, params, &out); err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, StartResult{Processes: out, Warnings: file.Warnings})
}

// handleSave answers POST /api/save (body {} or {"force": true}): `gpm save`.
func (s *Server) handleSave(w http.ResponseWriter, r *http.Request) {
	var p api.SaveParams
	if err := readBody(r, MaxActionBody, "MaxActionBody", &p); err != nil {
		s.fail(w, err)
		return
	}
	var out api.SaveResult
	if err := s.caller.Call(r.Context(), api.MethodSave, p, &out); err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// readBody decodes r's JSON body into v; an empty body leaves v as it is. Unknown fields are refused, by name.
func readBody(r *http.Request, limit int64, limitName string, v any) error {
	data, err := io.ReadAll(r.Body)
	if err != nil {
		return bodyError(err, limit, limitName)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return &api.Error{Code: api.CodeInvalid, Message: "body: " + err.Error()}
	}
	return nil
}

func bodyError(err error, limit int64, limitName string) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return &api.Error{Code: api.CodeTooLarge, Message: fmt.Sprintf("body over the limit of %d bytes (web.%s)", limit, limitName)}
	}
	return &api.Error{Code: api.CodeInvalid, Message: "read body: " + err.Error()}
}

// fail answers err: an *api.Error with the status of its code and the daemon's own message, as the CLI prints it.
func (s *Server) fail(w http.ResponseWriter, err error) {
	var ae *api.Error
	if !errors.As(err, &ae) {
		s.log.Printf("web: %v", err)
		ae = &api.Error{Code: api.CodeFailed, Message: err.Error()}
	}
	writeError(w, statusOf(ae.Code), ae)
}

// statusOf maps the control protocol's error codes to HTTP statuses.
func statusOf(code string) int {
	switch code {
	case api.CodeNotFound, api.CodeNoDump:
		return http.StatusNotFound
	case api.CodeInvalid, api.CodeVersion:
		return http.StatusBadRequest
	case api.CodeDenied:
		return http.StatusForbidden
	case api.CodeAlreadyRun, api.CodeEmptyList:
		return http.StatusConflict
	case api.CodeTooLarge:
		return http.StatusRequestEntityTooLarge
	case api.CodeBusy:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// ErrorBody is the JSON of every error answer: {"error": {"code": ..., "message": ...}}.
type ErrorBody struct {
	Error *api.Error `json:"error"`
}

func writeError(w http.ResponseWriter, status int, e *api.Error) {
	writeJSON(w, status, ErrorBody{e})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		data, _ = json.Marshal(ErrorBody{&api.Error{Code: api.CodeFailed, Message: "encode answer: " + err.Error()}})
	}
	writeRaw(w, status, data)
}

func writeRaw(w http.ResponseWriter, status int, data []byte) {
	if len(data) == 0 {
		data = []byte("null")
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(data)+1))
	w.WriteHeader(status)
	w.Write(data)
	w.Write([]byte{'\n'})
}
