package config

import (
	"testing"
	"time"
)

func TestGoTimeLayout(t *testing.T) {
	tests := []struct{ moment, layout string }{
		{"YYYY-MM-DD HH:mm:ss Z", "2006-01-02 15:04:05 -07:00"},
		{"YYYY-MM-DDTHH:mm:ss", "2006-01-02T15:04:05"},
		{"DD/MM HH:mm:ss.SSS", "02/01 15:04:05.000"},
		{"YYYY-MM-DD HH:mm:ss,SS ZZ", "2006-01-02 15:04:05,00 -0700"},
		{"YY M D H:m:s", "06 1 2 15:4:5"},
		{"dddd, MMMM Do YYYY, h:mm:ss a", "Monday, January Do 2006, 3:04:05 pm"},
		{"ddd MMM DDDD hh A", "Mon Jan 002 03 PM"},
		{"[at] HH:mm", "at 15:04"},
		{"X x Q SSS", "X x Q SSS"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := GoTimeLayout(tt.moment); got != tt.layout {
			t.Errorf("GoTimeLayout(%q) = %q, want %q", tt.moment, got, tt.layout)
		}
	}
	// The layout formats as moment would.
	ts := time.Date(2024, 3, 7, 14, 5, 9, 123456789, time.FixedZone("", 2*3600))
	if got := ts.Format(GoTimeLayout("YYYY-MM-DD HH:mm:ss.SSS Z")); got != "2024-03-07 14:05:09.123 +02:00" {
		t.Errorf("formatted %q", got)
	}
}
