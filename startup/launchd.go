package startup

import (
	"path/filepath"
	"strings"
	"sync"
	"text/template"
)

// plistTmpl is a LaunchDaemon (system: runs as UserName at boot) or a LaunchAgent (user: at login). RunAtLoad is
// set (kardianos/service leaves it false, so its jobs never start at boot); KeepAlive restarts the daemon only when
// it exits with a failure, like systemd's Restart=on-failure, and ThrottleInterval shortens launchd's 10 s default
// restart delay.
var plistTmpl = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("plist").Funcs(template.FuncMap{"x": xmlText}).Parse(
		`<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<!-- {{x .Name}}: the gpm daemon{{if .User}} of user {{x .User}}{{end}}. Written by gpm startup; gpm unstartup removes it. -->
<plist version="1.0">
<dict>
	<key>Label</key>
	<string>{{x .Name}}</string>
	<key>ProgramArguments</key>
	<array>
		<string>{{x .Exe}}</string>
		<string>daemon</string>
		<string>--resurrect</string>
	</array>
{{- if and (eq .Mode.String "system") .User}}
	<key>UserName</key>
	<string>{{x .User}}</string>
{{- end}}
{{- if and (eq .Mode.String "system") .Home}}
	<key>WorkingDirectory</key>
	<string>{{x .Home}}</string>
{{- end}}
	<key>EnvironmentVariables</key>
	<dict>
{{- if and (eq .Mode.String "system") .Home}}
		<key>HOME</key>
		<string>{{x .Home}}</string>
{{- end}}
{{- if .GPMHome}}
		<key>GPM_HOME</key>
		<string>{{x .GPMHome}}</string>
{{- end}}
{{- if .Path}}
		<key>PATH</key>
		<string>{{x .Path}}</string>
{{- end}}
	</dict>
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
		<key>NumberOfFiles</key>
		<integer>{{.LimitNOFILE}}</integer>
	</dict>
{{- if .LogFile}}
	<key>StandardOutPath</key>
	<string>{{x .LogFile}}</string>
	<key>StandardErrorPath</key>
	<string>{{x .LogFile}}</string>
{{- end}}
</dict>
</plist>
`))
})

type plistData struct {
	*Spec
	LimitNOFILE int
	LogFile     string
}

func renderLaunchd(s *Spec) ([]File, error) {
	d := plistData{Spec: s, LimitNOFILE: s.limitNOFILE()}
	if s.GPMHome != "" {
		d.LogFile = filepath.Join(s.GPMHome, "gpm.log") // api.DaemonLog: where a daemon gpm starts itself logs too
	}
	data, err := execTmpl(plistTmpl(), d)
	if err != nil {
		return nil, err
	}
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
