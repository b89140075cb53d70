// Package unitfile writes the values of systemd unit files as systemd reads them back (systemd.syntax(7),
// systemd.service(5) "Command lines"): the one place for the quoting that `gpm startup` (package startup) and
// `gpm export systemd` (package export) both need.
package unitfile

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
)

// plainWord is an argument systemd reads back unchanged without quotes. Compiled on first use: package
// initialisation runs on every CLI call, most of which write no unit.
var plainWord = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9_@+=:,./-]+$`) })

// EscapeSpecifiers escapes systemd's specifiers (%) in s, for a value that must reach the program as written.
func EscapeSpecifiers(s string) string { return strings.ReplaceAll(s, "%", "%%") }

// ExecLine writes a command line for ExecStart=: specifiers (%) and variables ($) are escaped, and a word with
// anything else in it is double-quoted with C escapes.
func ExecLine(words ...string) string {
	out := make([]string, len(words))
	for i, w := range words {
		w = EscapeSpecifiers(w)
		if plainWord().MatchString(strings.ReplaceAll(w, "%", "")) {
			out[i] = w
			continue
		}
		out[i] = quote(strings.ReplaceAll(w, "$", "$$"))
	}
	return strings.Join(out, " ")
}

// EnvLine writes Environment=K=V, quoted when it needs it. v's specifiers are the caller's to escape
// (EscapeSpecifiers): a template unit means its %i.
func EnvLine(k, v string) string {
	kv := k + "=" + v
	if plainWord().MatchString(strings.ReplaceAll(kv, "%", "")) {
		return "Environment=" + kv
	}
	return "Environment=" + quote(kv)
}

// quote double-quotes s with C escapes, which systemd undoes in ExecStart= and Environment= words. Every control
// character is escaped, not only the line feed: systemd's reader ends a line at a carriage return too, so a raw one
// in a value would start a directive of the value's own (an ExecStartPre= in an app's env, say).
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' || c == '"':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\t':
			b.WriteString(`\t`)
		case c < 0x20 || c == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}
