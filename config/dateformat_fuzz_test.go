package config

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzGoTimeLayout: any log_date_format converts to a layout that formats any time; the layout is at most a few
// times the format's length; text without letters or digits is literal, bracketed or not.
func FuzzGoTimeLayout(f *testing.F) {
	times := []time.Time{
		time.Date(2026, 1, 2, 3, 4, 5, 6_007_008, time.UTC),
		time.Date(1, 1, 1, 0, 0, 0, 0, time.FixedZone("", -12*3600-1800)),
		time.Date(9999, 12, 31, 23, 59, 59, 999_999_999, time.FixedZone("LONGZONE", 14*3600)),
	}
	f.Fuzz(func(t *testing.T, format string) {
		layout := GoTimeLayout(format)
		// "Z" becomes "-07:00", the longest expansion per input byte
		if len(layout) > 6*len(format) {
			t.Fatalf("GoTimeLayout(%q) = %q: %d bytes for %d", format, layout, len(layout), len(format))
		}
		for _, tm := range times {
			_ = tm.Format(layout)
		}
		lit := strings.Map(func(r rune) rune {
			if r < utf8.RuneSelf && (r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '[' || r == ']') {
				return -1
			}
			return r
		}, format)
		for _, in := range []string{lit, "[" + lit + "]"} {
			if got := GoTimeLayout(in); got != lit {
				t.Fatalf("GoTimeLayout(%q) = %q, want the literal %q", in, got, lit)
			}
			if got := times[0].Format(GoTimeLayout(in)); got != lit {
				t.Fatalf("format %q printed %q, want the literal %q", in, got, lit)
			}
		}
	})
}
