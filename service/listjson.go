package service

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/gpmd/gpm/api"
)

// listed is one process of a list answer: its record, whose Config is left empty, and that config already encoded
// (proc.appJSON).
type listed struct {
	api.Process
	config []byte
}

// processList is the answer to "list", encoded by hand (api.JSONAppender): encoding/json's reflection over 1000
// processes and their configs, and the copies of the configs it encoded, were most of the daemon's work for
// `gpm jlist` (issue 13). The bytes are encoding/json's, field for field (TestAppendProcess).
type processList []listed

// AppendJSON appends the list as json.Marshal of []api.Process would encode it.
func (l processList) AppendJSON(b []byte) []byte {
	n := 2
	for i := range l {
		n += len(l[i].config) + 768 // the record without its config is 500-700 bytes
	}
	b = slices.Grow(b, n)
	b = append(b, '[')
	for i := range l {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendProcess(b, &l[i].Process, l[i].config)
	}
	return append(b, ']')
}

// MarshalJSON serves encoding/json (the in-process api.Caller).
func (l processList) MarshalJSON() ([]byte, error) { return l.AppendJSON(nil), nil }

// appendProcess appends p as encoding/json encodes an api.Process, with config as its "config".
//
// Important (!): a field added to api.Process is added here too, in its place; TestAppendProcess fails until it is.
func appendProcess(b []byte, p *api.Process, config []byte) []byte {
	b = append(b, `{"id":`...)
	b = strconv.AppendInt(b, int64(p.ID), 10)
	b = appendString(append(b, `,"name":`...), p.Name)
	b = appendString(append(b, `,"namespace":`...), p.Namespace)
	b = strconv.AppendInt(append(b, `,"pid":`...), int64(p.PID), 10)
	b = appendString(append(b, `,"status":`...), p.Status)
	b = strconv.AppendInt(append(b, `,"restarts":`...), int64(p.Restarts), 10)
	b = strconv.AppendInt(append(b, `,"unstable_restarts":`...), int64(p.UnstableRestarts), 10)
	b = append(b, `,"exit_code":`...)
	if p.ExitCode == nil {
		b = append(b, "null"...)
	} else {
		b = strconv.AppendInt(b, int64(*p.ExitCode), 10)
	}
	b = appendOmitEmpty(b, `,"exit_signal":`, p.ExitSignal)
	b = strconv.AppendInt(append(b, `,"instance":`...), int64(p.Instance), 10)
	b = appendString(append(b, `,"mode":`...), p.Mode)
	b = strconv.AppendInt(append(b, `,"uptime_ms":`...), p.UptimeMS, 10)
	if p.StartedAt != nil {
		b = appendTime(append(b, `,"started_at":`...), *p.StartedAt)
	}
	b = appendTime(append(b, `,"created_at":`...), p.CreatedAt)
	b = appendFloat(append(b, `,"cpu":`...), p.CPU)
	b = strconv.AppendUint(append(b, `,"memory":`...), p.Memory, 10)
	b = appendFloat(append(b, `,"cpu_seconds":`...), p.CPUSeconds)
	b = appendOmitEmpty(b, `,"containment":`, p.Containment)
	b = appendOmitEmpty(b, `,"containment_reason":`, p.ContainmentReason)
	b = appendOmitEmpty(b, `,"cgroup":`, p.Cgroup)
	b = appendOmitEmpty(b, `,"reason":`, p.Reason)
	b = appendOmitEmpty(b, `,"status_text":`, p.StatusText)
	if p.NextRestart != nil {
		b = appendTime(append(b, `,"next_restart":`...), *p.NextRestart)
	}
	b = appendOmitEmpty(b, `,"out_log":`, p.OutLog)
	b = appendOmitEmpty(b, `,"err_log":`, p.ErrLog)
	b = appendOmitEmpty(b, `,"log":`, p.CombinedLog)
	b = append(b, `,"config":`...)
	b = append(b, config...)
	return append(b, '}')
}

// appendOmitEmpty appends key and s, unless s is empty (`json:",omitempty"`).
func appendOmitEmpty(b []byte, key, s string) []byte {
	if s == "" {
		return b
	}
	return appendString(append(b, key...), s)
}

// appendTime appends t as time.Time's MarshalJSON does, for the years it accepts (0-9999: every time the daemon
// records).
func appendTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// appendFloat appends f as encoding/json does: like %g with ES6's exponent cutoffs. A NaN or an infinity, which
// encoding/json refuses (failing the whole list), is written as 0: a figure the sampler could not compute.
func appendFloat(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, '0')
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' { // e-09 → e-9, as encoding/json
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// appendString appends s as json.Marshal escapes a string: `"`, `\`, the control characters (\b \f \n \r \t by
// name), `<`, `>` and `&` (HTML), U+2028 and U+2029; invalid UTF-8 becomes U+FFFD.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appJSON returns p's configuration as JSON, encoded once per configuration: it changes only when p is
// registered, configured again (start of a known app, reload with a new config) or scaled, and in cluster
// adoption (node.go); each of them calls p.setApp or p.appChanged. Runs on the loop.
func (p *proc) appJSON() []byte {
	if p.appJSONCache == nil {
		b, err := json.Marshal(&p.app)
		if err != nil {
			// config.App holds nothing encoding/json refuses; should it one day, the list says so rather than fail.
			b, _ = json.Marshal(map[string]string{"error": "config: " + err.Error()})
		}
		p.appJSONCache = b
	}
	return p.appJSONCache
}

// appChanged drops the encoded configuration after a change of p.app.
func (p *proc) appChanged() { p.appJSONCache = nil }
