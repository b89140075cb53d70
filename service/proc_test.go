package service

import "testing"

func TestFileName(t *testing.T) {
	tests := []struct{ name, want string }{
		{"api", "api"},
		{"my-app.v2", "my-app.v2"},
		{"My_App", "My-App"},
		{"a b/c", "a-b-c"},
		{"../etc", "..-etc"},
		{"café", "caf-"},
		{"", ""},
		{"a\xffb", "a-b"},
	}
	for _, tt := range tests {
		if got := fileName(tt.name); got != tt.want {
			t.Errorf("fileName(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}
