package activation

import (
	"maps"
	"slices"
	"strings"
	"testing"
)

// FuzzParseState feeds sd_notify payloads (what any app may send to its NOTIFY_SOCKET) to ParseState: keys are
// non-empty and hold neither '=' nor a newline, values hold no newline, and the fields written back as KEY=VALUE
// lines parse to the same fields.
func FuzzParseState(f *testing.F) {
	f.Fuzz(func(t *testing.T, payload string) {
		m := ParseState(payload)
		for k, v := range m {
			if k == "" || strings.ContainsAny(k, "=\n") || strings.Contains(v, "\n") {
				t.Fatalf("ParseState(%q): field %q=%q", payload, k, v)
			}
		}
		var b strings.Builder
		for _, k := range slices.Sorted(maps.Keys(m)) {
			b.WriteString(k + "=" + m[k] + "\n")
		}
		if again := ParseState(b.String()); !maps.Equal(again, m) {
			t.Fatalf("ParseState(%q) = %q; written back as %q it parses to %q", payload, m, b.String(), again)
		}
	})
}
