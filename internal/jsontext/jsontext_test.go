package jsontext

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"testing"
)

// AppendString writes what encoding/json writes for the same string, with HTML escaping (json.Marshal) and without
// (an Encoder with SetEscapeHTML(false)), for every ASCII byte, the characters it treats apart, invalid UTF-8 and
// random strings.
func TestAppendStringAsEncodingJSON(t *testing.T) {
	cases := []string{"", "plain", "a\"b\\c", "<tag>&amp;", "\u2028\u2029", "é日本", "\xff\xfe", "a\x00b\x1fc\x7f"}
	for c := 0; c < 128; c++ {
		cases = append(cases, string(rune(c)))
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		b := make([]byte, r.IntN(24))
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
		cases = append(cases, string(b))
	}
	for _, s := range cases {
		want, _ := json.Marshal(s)
		if got := AppendString(nil, s, true); !bytes.Equal(got, want) {
			t.Errorf("%q with html: %s, encoding/json %s", s, got, want)
		}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		enc.Encode(s)
		want = bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
		if got := AppendString([]byte("x"), s, false); !bytes.Equal(got[1:], want) || got[0] != 'x' {
			t.Errorf("%q without html: %s, encoding/json %s", s, got, want)
		}
	}
}
