package startup

import (
	"bytes"
	"encoding/xml"
	"testing"
)

// xmlText escapes as encoding/xml does, which it replaces on the CLI's path.
func TestXMLTextMatchesEncodingXML(t *testing.T) {
	for _, s := range []string{"", "plain", `a&b<c>d"e'f`, "tab\tnl\nnr\r", "ctl\x01\x1f", "ünï€😀", "bad\xff", "\uFFFE\uFFFF"} {
		var want bytes.Buffer
		xml.EscapeText(&want, []byte(s))
		if got := xmlText(s); got != want.String() {
			t.Errorf("xmlText(%q) = %q, encoding/xml gives %q", s, got, want.String())
		}
	}
}
