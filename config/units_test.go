package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"1024", 1024, true},
		{"512K", 512 << 10, true},
		{"200M", 200 << 20, true},
		{"1G", 1 << 30, true},
		{"1.5G", 3 << 29, true},
		{"2T", 2 << 40, true},
		{"200m", 200 << 20, true},
		{"200MB", 200 << 20, true},
		{"1GiB", 1 << 30, true},
		{" 64k ", 64 << 10, true},
		{"0", 0, true},
		{"", 0, false},
		{"M", 0, false},
		{"-1M", 0, false},
		{"10X", 0, false},
		{"1e3", 0, false},
		{"99999999999T", 0, false},
	}
	for _, tt := range tests {
		got, err := ParseSize(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestParseMillis(t *testing.T) {
	tests := []struct {
		in   string
		want Millis
		ok   bool
	}{
		{"1000", 1000, true},
		{"2s", 2000, true},
		{"1.5s", 1500, true},
		{"500ms", 500, true},
		{"1m", 60000, true},
		{"1h", 3600000, true},
		{"0", 0, true},
		{" 3s ", 3000, true},
		{"1.5", 2, true},
		{"", 0, false},
		{"s", 0, false},
		{"-1s", 0, false},
		{"2d", 0, false},
		{"2 weeks", 0, false},
		{"1e3", 0, false},
		{"9999999999999999999h", 0, false},
	}
	for _, tt := range tests {
		got, err := ParseMillis(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseMillis(%q) = %d, %v; want %d, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestSplitArgs(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		ok   bool
	}{
		{"", nil, true},
		{"  a  b\tc ", []string{"a", "b", "c"}, true},
		{`--name 'a b' "c d"`, []string{"--name", "a b", "c d"}, true},
		{`x"y z"w`, []string{"xy zw"}, true},
		{`'' ""`, []string{"", ""}, true},
		{`a\ b \'c`, []string{"a b", "'c"}, true},
		{`"a\"b\\c\d $HOME"`, []string{`a"b\c\d $HOME`}, true},
		{`'no \escape'`, []string{`no \escape`}, true},
		{`'open`, nil, false},
		{`"open`, nil, false},
		{`trailing\`, nil, false},
	}
	for _, tt := range tests {
		got, err := splitArgs(tt.in)
		if (err == nil) != tt.ok || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("splitArgs(%q) = %q, %v; want %q, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

// TestLimitFields_Issue12: memory_max, cpu_quota and tasks_max parse in process files and are bounded by named
// constants, in files and in the protocol (Validate).
func TestLimitFields_Issue12(t *testing.T) {
	if n, err := ParseCPUQuota("50%"); err != nil || n != 50 {
		t.Errorf("ParseCPUQuota(50%%) = %d, %v", n, err)
	}
	for _, bad := range []string{"0", "-5%", "abc", "200000%"} {
		if _, err := ParseCPUQuota(bad); err == nil {
			t.Errorf("ParseCPUQuota(%q) accepted", bad)
		}
	}
	if _, err := ParseTasksMax("5000000"); err == nil || !strings.Contains(err.Error(), "config.MaxTasks") {
		t.Errorf("ParseTasksMax over the cap: %v", err)
	}
	a := New()
	a.Name, a.Script, a.Cwd = "x", "/bin/true", "/"
	a.CPUQuota = MaxCPUQuota + 1
	if err := a.Validate(); err == nil || !strings.Contains(err.Error(), "config.MaxCPUQuota") {
		t.Errorf("Validate with cpu_quota over the cap: %v", err)
	}
}

// Names of variables gpm sets, and the env's, are variable names: '=' or NUL in one is refused, naming the field.
func TestValidateVariableNames(t *testing.T) {
	for _, tt := range []struct {
		field string
		set   func(a *App)
	}{
		{"instance_var", func(a *App) { a.InstanceVar = "A=B" }},
		{"increment_var", func(a *App) { a.IncrementVar = "PORT\x00" }},
		{"env", func(a *App) { a.Env = map[string]string{"A=B": "1"} }},
		{"env", func(a *App) { a.Env = map[string]string{"A": "x\x00y"} }},
	} {
		a := New()
		a.Name, a.Script, a.Cwd = "x", "/bin/true", "/"
		tt.set(&a)
		var fe *FieldError
		if err := a.Validate(); !errors.As(err, &fe) || fe.Field != tt.field {
			t.Errorf("%s: Validate = %v, want a FieldError of %s", tt.field, err, tt.field)
		}
	}
	a := New()
	a.Name, a.Script, a.Cwd, a.IncrementVar = "x", "/bin/true", "/", "PORT"
	a.Env = map[string]string{"A": "b=c"}
	if err := a.Validate(); err != nil {
		t.Errorf("good names: %v", err)
	}
}
