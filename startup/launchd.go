package startup

import (
	"path/filepath"
	"strconv"
	"strings"
)

// renderPlist is a LaunchDaemon (system: runs as UserName at boot) or a LaunchAgent (user: at login). RunAtLoad is
// set (kardianos/service leaves it false, so its jobs never start at boot); KeepAlive restarts the daemon only when
// it exits with a failure, like systemd's Restart=on-failure, and ThrottleInterval shortens launchd's 10 s default
// restart delay. Plain Go rather than a text/template for the reason renderUnit gives.
func renderPlist(s *Spec) []byte {
	system := s.Mode == System
	var b strings.Builder
	line := func(parts ...string) {
		for _, p := range parts {
			b.WriteString(p)
		}
		b.WriteByte('\n')
	}
	key := func(indent, k, tag, v string) {
		line(indent, "<key>", k, "</key>")
		line(indent, "<", tag, ">", v, "</", tag, ">")
	}
	line(`<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">`)
	of := ""
	if s.User != "" {
		of = " of user " + xmlText(s.User)
	}
	line("<!-- ", xmlText(s.Name), ": the gpm daemon", of, ". Written by gpm startup; gpm unstartup removes it. -->")
	line(`<plist version="1.0">
<dict>`)
	key("\t", "Label", "string", xmlText(s.Name))
	line("\t<key>ProgramArguments</key>")
	line("\t<array>")
	line("\t\t<string>", xmlText(s.Exe), "</string>")
	line("\t\t<string>daemon</string>")
	line("\t\t<string>--resurrect</string>")
	line("\t</array>")
	if system && s.User != "" {
		key("\t", "UserName", "string", xmlText(s.User))
	}
	if system && s.Home != "" {
		key("\t", "WorkingDirectory", "string", xmlText(s.Home))
	}
	line("\t<key>EnvironmentVariables</key>")
	line("\t<dict>")
	if system && s.Home != "" {
		key("\t\t", "HOME", "string", xmlText(s.Home))
	}
	if s.GPMHome != "" {
		key("\t\t", "GPM_HOME", "string", xmlText(s.GPMHome))
	}
	if s.Path != "" {
		key("\t\t", "PATH", "string", xmlText(s.Path))
	}
	line(`	</dict>
	<key>RunAtLoad</key>
	<true/>
	<key>KeepAlive</key>
	<dict>
		<key>SuccessfulExit</key>
		<false/>
	</dict>
	<key>ThrottleInterval</key>
	<integer>1</integer>
	<key>ExitTimeOut</key>
	<integer>90</integer>
	<key>SoftResourceLimits</key>
	<dict>
		<key>NumberOfFiles</key>`)
	line("\t\t<integer>", strconv.Itoa(s.limitNOFILE()), "</integer>")
	line("\t</dict>")
	if s.GPMHome != "" {
		// api.DaemonLog: where a daemon gpm starts itself logs too.
		logFile := xmlText(filepath.Join(s.GPMHome, "gpm.log"))
		key("\t", "StandardOutPath", "string", logFile)
		key("\t", "StandardErrorPath", "string", logFile)
	}
	line("</dict>")
	line("</plist>")
	return []byte(b.String())
}

func renderLaunchd(s *Spec) ([]File, error) {
	data := renderPlist(s)
	path := "/Library/LaunchDaemons/" + s.Name + ".plist"
	if s.Mode == User {
		path = filepath.Join(s.Home, "Library/LaunchAgents", s.Name+".plist")
	}
	return []File{{Path: path, Data: data, Mode: 0o644, Doc: "launchd plist"}}, nil
}

// xmlText escapes s for XML text as encoding/xml's EscapeText does (the five markup characters, tab, newline and carriage return as
// character references, and characters XML 1.0 cannot carry as U+FFFD), by hand: encoding/xml's package
// initialisation ran on every CLI call, for the one command that writes a plist (issue 13: CLI start-up).
func xmlText(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '&':
			b.WriteString("&amp;")
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '"':
			b.WriteString("&#34;")
		case r == '\'':
			b.WriteString("&#39;")
		case r == '\t':
			b.WriteString("&#x9;")
		case r == '\n':
			b.WriteString("&#xA;")
		case r == '\r':
			b.WriteString("&#xD;")
		case r < 0x20, r >= 0xD800 && r <= 0xDFFF, r == 0xFFFE, r == 0xFFFF:
			b.WriteRune('\uFFFD')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
