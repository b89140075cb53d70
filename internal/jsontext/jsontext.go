// Package jsontext appends JSON strings exactly as encoding/json writes them, for the hand-written encoders of the
// hot paths (the daemon's list, the HTTP API's event stream), whose output tests compare byte for byte with
// encoding/json's. By hand because encoding/json has no way to append one string to a buffer without reflection
// and an allocation a call.
package jsontext

import "unicode/utf8"

// AppendString appends s as a JSON string, escaped as encoding/json escapes it: `"`, `\`, the control characters
// (\b \f \n \r \t by name, the others as \u00XX), U+2028 and U+2029; invalid UTF-8 becomes U+FFFD. With html,
// also `<`, `>` and `&`, as json.Marshal does (an Encoder with SetEscapeHTML(false) does not).
func AppendString(b []byte, s string, html bool) []byte {
	const hex = "0123456789abcdef"
	safe := &plainSafe
	if html {
		safe = &htmlSafe
	}
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if safe[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// plainSafe and htmlSafe are the ASCII bytes written as they are, without and with HTML escaping. Tables: one
// load a byte instead of up to six comparisons.
var plainSafe, htmlSafe = func() (plain, html [utf8.RuneSelf]bool) {
	for c := byte(0x20); c < utf8.RuneSelf; c++ {
		plain[c] = c != '"' && c != '\\'
		html[c] = plain[c] && c != '<' && c != '>' && c != '&'
	}
	return plain, html
}()
