package activation

import (
	"slices"
	"testing"
)

// FuzzParseSpec feeds listen addresses (a process file's listen, a Node app's LISTEN= message) to ParseSpec: an
// error, or a spec with a known network, an address and a name, whose String (what the daemon writes back into an
// app's listen list) parses to the same spec.
func FuzzParseSpec(f *testing.F) {
	networks := []string{"tcp", "tcp4", "tcp6", "udp", "udp4", "udp6", "unix", "systemd"}
	f.Fuzz(func(t *testing.T, s string) {
		sp, err := ParseSpec(s)
		if err != nil {
			if err.Error() == "" {
				t.Fatalf("ParseSpec(%q): an error without a message", s)
			}
			return
		}
		if !slices.Contains(networks, sp.Network) || sp.Address == "" || sp.Name == "" {
			t.Fatalf("ParseSpec(%q) = %+v", s, sp)
		}
		again := sp.String()
		if sp.Name != sp.Address { // a name of its own
			again = sp.Name + "=" + again
		}
		got, err := ParseSpec(again)
		if err != nil || got != sp {
			t.Fatalf("ParseSpec(%q) = %+v; written back as %q it parses to %+v, %v", s, sp, again, got, err)
		}
	})
}

// Found by FuzzParseSpec: String wrote back what url.Parse had decoded, so an IPv6 zone ("%25eth0") no longer
// parsed, a unix path with '?' lost its end, and one with a newline did not parse. The daemon writes String into
// an app's listen list (a Node app's LISTEN=) and reads it back on reload and resurrect.
func TestSpecStringParsesBack_Fuzz(t *testing.T) {
	for _, s := range []string{"tcp://[fe80::1%25eth0]:80", "unix:///run/a%3Fb%23c%25d", "unix://rel/a%3Fb",
		"unix:///tmp/a%0Ab%7F"} {
		sp, err := ParseSpec(s)
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		if again, err := ParseSpec(sp.String()); err != nil || again != sp {
			t.Errorf("ParseSpec(%q) = %+v; its String %q parses to %+v, %v", s, sp, sp.String(), again, err)
		}
	}
}
