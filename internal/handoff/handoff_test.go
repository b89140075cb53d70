package handoff

import "testing"

// TestNeeded: the commands of gpmd are found after the options main reads before the command, and nothing else
// is (process files and --no-daemon are main's hand-off's to decide).
func TestNeeded(t *testing.T) {
	tests := []struct {
		args []string
		want bool
	}{
		{[]string{"run", "app.sh"}, true},
		{[]string{"daemon"}, true},
		{[]string{"--system", "daemon"}, true},
		{[]string{"--timeout", "5s", "export", "systemd"}, true},
		{[]string{"--timeout=5s", "--system", "install", "x.tgz"}, true},
		{[]string{"import", "pm2"}, true},
		{[]string{"start", "app.json"}, false},
		{[]string{"start", "--no-daemon", "app.sh"}, false},
		{[]string{"ls"}, false},
		{[]string{"--timeout"}, false},
		{[]string{"--timeout", "run"}, false}, // "run" is the timeout: no command
		{[]string{"--timeout="}, false},
		{[]string{"runner"}, false},
		{nil, false},
	}
	for _, tt := range tests {
		if got := Needed(tt.args); got != tt.want {
			t.Errorf("Needed(%q) = %v, want %v", tt.args, got, tt.want)
		}
	}
}
