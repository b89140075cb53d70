package procfile

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// The scalars of the JSON5 parser (json5.go): strings with JavaScript escapes, and numbers in every JSON5 form.

// str reads a single- or double-quoted JSON5 string.
func (p *json5Parser) str() (*yaml.Node, error) {
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Style: yaml.DoubleQuotedStyle, Line: p.line, Column: p.col}
	quote := p.advance()
	var b strings.Builder
	for {
		r, _ := p.peek()
		switch {
		case r < 0:
			return nil, &syntaxError{Line: n.Line, Col: n.Column, Msg: "unterminated string"}
		case r == '\n' || r == '\r':
			return nil, p.errorf("unterminated string (a newline inside a string must be written \\n)")
		case r == quote:
			p.advance()
			n.Value = b.String()
			return n, nil
		case r == '\\':
			if err := p.escape(&b); err != nil {
				return nil, err
			}
		default:
			p.advance()
			b.WriteRune(r)
		}
	}
}

// escape decodes one backslash escape into b. UTF-16 surrogate pairs written as two \u escapes become one rune;
// a lone surrogate becomes U+FFFD, as in JavaScript's TextEncoder.
func (p *json5Parser) escape(b *strings.Builder) error {
	line, col := p.line, p.col
	p.advance() // backslash
	r := p.advance()
	switch r {
	case 'b':
		b.WriteByte('\b')
	case 'f':
		b.WriteByte('\f')
	case 'n':
		b.WriteByte('\n')
	case 'r':
		b.WriteByte('\r')
	case 't':
		b.WriteByte('\t')
	case 'v':
		b.WriteByte('\v')
	case '0':
		if c, _ := p.peek(); c >= '0' && c <= '9' {
			return &syntaxError{Line: line, Col: col, Msg: "octal escapes are not allowed"}
		}
		b.WriteByte(0)
	case 'x':
		v, err := p.hex(2, line, col)
		if err != nil {
			return err
		}
		b.WriteRune(rune(v))
	case 'u':
		v, err := p.hex(4, line, col)
		if err != nil {
			return err
		}
		c := rune(v)
		if utf16.IsSurrogate(c) && c < 0xDC00 && p.pos+1 < len(p.src) && p.src[p.pos] == '\\' && p.src[p.pos+1] == 'u' {
			save, saveLine, saveCol := p.pos, p.line, p.col
			p.advance()
			p.advance()
			if lo, err := p.hex(4, line, col); err == nil && utf16.DecodeRune(c, rune(lo)) != utf8.RuneError {
				c = utf16.DecodeRune(c, rune(lo))
			} else {
				p.pos, p.line, p.col = save, saveLine, saveCol
			}
		}
		if utf16.IsSurrogate(c) {
			c = utf8.RuneError
		}
		b.WriteRune(c)
	case '\r':
		if c, _ := p.peek(); c == '\n' {
			p.advance()
		}
	case '\n', '\u2028', '\u2029': // line continuation: the escaped line break is not part of the string
	case '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return &syntaxError{Line: line, Col: col, Msg: fmt.Sprintf("invalid escape \\%c", r)}
	case -1:
		return &syntaxError{Line: line, Col: col, Msg: "unterminated string"}
	default: // \' \" \\ \/ and any other character stand for themselves
		b.WriteRune(r)
	}
	return nil
}

func (p *json5Parser) hex(digits, line, col int) (uint64, error) {
	if p.pos+digits > len(p.src) {
		return 0, &syntaxError{Line: line, Col: col, Msg: "truncated escape sequence"}
	}
	v, err := strconv.ParseUint(string(p.src[p.pos:p.pos+digits]), 16, 32)
	if err != nil {
		return 0, &syntaxError{Line: line, Col: col, Msg: fmt.Sprintf("invalid escape: %q is not %d hex digits",
			p.src[p.pos:p.pos+digits], digits)}
	}
	for range digits {
		p.advance()
	}
	return v, nil
}

// number reads a JSON5 number and stores it in plain decimal form.
func (p *json5Parser) number() (*yaml.Node, error) {
	n := &yaml.Node{Kind: yaml.ScalarNode, Line: p.line, Column: p.col}
	start := p.pos
	for {
		r, _ := p.peek()
		if !(isIdentPart(r) || r == '.' || r == '+' || r == '-') {
			break
		}
		p.advance()
	}
	text := string(p.src[start:p.pos])
	bad := &syntaxError{Line: n.Line, Col: n.Column, Msg: fmt.Sprintf("invalid number %q", text)}
	sign, body := "", text
	if body != "" && (body[0] == '-' || body[0] == '+') {
		if body[0] == '-' {
			sign = "-"
		}
		body = body[1:]
	}
	switch {
	case body == "Infinity":
		n.Tag, n.Value = "!!float", sign+".inf"
	case body == "NaN":
		n.Tag, n.Value = "!!float", ".nan"
	case len(body) > 2 && body[0] == '0' && (body[1] == 'x' || body[1] == 'X'):
		v, err := strconv.ParseUint(body[2:], 16, 64)
		if err != nil {
			return nil, bad
		}
		n.Tag, n.Value = "!!int", sign+strconv.FormatUint(v, 10)
		if v > math.MaxInt64 {
			n.Tag = "!!float"
		}
	default:
		if !isDecimalLiteral(body) {
			return nil, bad
		}
		if len(body) > 1 && body[0] == '0' && body[1] >= '0' && body[1] <= '9' {
			return nil, &syntaxError{Line: n.Line, Col: n.Column, Msg: fmt.Sprintf("invalid number %q: leading zeros are not allowed", text)}
		}
		if strings.HasPrefix(body, ".") {
			body = "0" + body
		}
		body = strings.Replace(body, ".e", ".0e", 1)
		body = strings.Replace(body, ".E", ".0E", 1)
		body = strings.TrimSuffix(body, ".")
		n.Tag, n.Value = "!!float", sign+body
		if _, err := strconv.ParseInt(sign+body, 10, 64); err == nil {
			n.Tag = "!!int"
		}
	}
	return n, nil
}

// isDecimalLiteral reports whether s is digits with an optional fraction and exponent, where either the integer or
// the fraction digits may be missing (JSON5 allows "5." and ".5").
func isDecimalLiteral(s string) bool {
	i, digits := 0, 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
		digits++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			digits++
		}
	}
	if digits == 0 {
		return false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		exp := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == exp {
			return false
		}
	}
	return i == len(s)
}
