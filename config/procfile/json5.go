package procfile

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// This file is a hand-written JSON5 parser that builds yaml.Node trees.
//
// Why hand-written: PM2 evaluates ".json" process files as JavaScript, so real files carry comments, single quotes,
// unquoted keys and trailing commas, and gpm must report errors as file:line. No JSON5 library for Go keeps positions
// (github.com/titanous/json5 decodes straight into Go values), and encoding/json rejects the syntax. Building a
// yaml.Node with Line/Column set lets one decoder (decode.go) walk JSON5, strict JSON, node's JSON.stringify output
// and YAML alike. Building the tree directly, rather than rewriting the text to JSON and handing it to yaml.v3, also
// avoids YAML's disagreements with JSON: implicit keys longer than 1024 characters, a key and its ':' on different
// lines, and escaped UTF-16 surrogate pairs are all valid JSON but rejected by a YAML parser.

// maxJSON5Depth bounds nesting so that a hostile file cannot make the recursive descent use unbounded stack.
const maxJSON5Depth = 512

// syntaxError is a JSON5 or YAML syntax error at a 1-based line and column (0 when unknown). Parse sets File.
type syntaxError struct {
	File      string
	Line, Col int
	Msg       string
}

func (e *syntaxError) Error() string {
	var b strings.Builder
	if e.File != "" {
		fmt.Fprintf(&b, "%s:%d", e.File, e.Line)
		if e.Col > 0 {
			fmt.Fprintf(&b, ":%d", e.Col)
		}
	} else {
		fmt.Fprintf(&b, "line %d", e.Line)
		if e.Col > 0 {
			fmt.Fprintf(&b, ", column %d", e.Col)
		}
	}
	b.WriteString(": syntax error: ")
	b.WriteString(e.Msg)
	return b.String()
}

// json5Parser holds the read position; line and col describe pos.
type json5Parser struct {
	src       []byte
	pos       int
	line, col int
	depth     int
}

// parseJSON5 parses one JSON5 value (strict JSON is a subset) into a yaml.Node. It returns (nil, nil) when src holds
// only whitespace and comments. Scalars carry the tags !!str, !!int, !!float, !!bool or !!null; numbers are rewritten
// to plain decimal (0x1F → 31, +.5 → 0.5, Infinity → .inf) so that yaml.Node.Decode understands them.
func parseJSON5(src []byte) (*yaml.Node, error) {
	p := &json5Parser{src: src, line: 1, col: 1}
	if len(src) >= 3 && string(src[:3]) == "\uFEFF" {
		p.pos = 3
	}
	if err := p.skipSpace(); err != nil {
		return nil, err
	}
	if p.pos >= len(p.src) {
		return nil, nil
	}
	n, err := p.value()
	if err != nil {
		return nil, err
	}
	if err := p.skipSpace(); err != nil {
		return nil, err
	}
	if p.pos < len(p.src) {
		return nil, p.errorf("unexpected %s after the end of the top-level value", p.describe())
	}
	return n, nil
}

func (p *json5Parser) errorf(format string, args ...any) error {
	return &syntaxError{Line: p.line, Col: p.col, Msg: fmt.Sprintf(format, args...)}
}

// peek returns the rune at pos and its size, or (-1, 0) at the end.
func (p *json5Parser) peek() (rune, int) {
	if p.pos >= len(p.src) {
		return -1, 0
	}
	return utf8.DecodeRune(p.src[p.pos:])
}

// advance consumes one rune, keeping line and col current. "\r\n", "\n" and a lone "\r" each end a line.
func (p *json5Parser) advance() rune {
	r, size := p.peek()
	if size == 0 {
		return -1
	}
	p.pos += size
	switch {
	case r == '\n', r == '\r' && (p.pos >= len(p.src) || p.src[p.pos] != '\n'):
		p.line++
		p.col = 1
	default:
		p.col++
	}
	return r
}

// describe names the next token for an error message.
func (p *json5Parser) describe() string {
	r, _ := p.peek()
	switch {
	case r < 0:
		return "end of input"
	case r == '\n' || r == '\r':
		return "end of line"
	default:
		return strconv.QuoteRune(r)
	}
}

// skipSpace skips JSON5 white space (which includes the Unicode space separators) and comments.
func (p *json5Parser) skipSpace() error {
	for {
		r, _ := p.peek()
		switch {
		case r == '/' && p.pos+1 < len(p.src) && p.src[p.pos+1] == '/':
			for r >= 0 && r != '\n' && r != '\r' {
				p.advance()
				r, _ = p.peek()
			}
		case r == '/' && p.pos+1 < len(p.src) && p.src[p.pos+1] == '*':
			line, col := p.line, p.col
			p.advance()
			p.advance()
			for {
				if p.pos >= len(p.src) {
					return &syntaxError{Line: line, Col: col, Msg: "unterminated /* comment"}
				}
				if p.src[p.pos] == '*' && p.pos+1 < len(p.src) && p.src[p.pos+1] == '/' {
					p.advance()
					p.advance()
					break
				}
				p.advance()
			}
		case r == '\t' || r == '\n' || r == '\v' || r == '\f' || r == '\r' || r == ' ' || r == '\uFEFF' ||
			r == '\u2028' || r == '\u2029' || r > 0x7f && unicode.Is(unicode.Zs, r):
			p.advance()
		default:
			return nil
		}
	}
}

func (p *json5Parser) value() (*yaml.Node, error) {
	r, _ := p.peek()
	switch {
	case r == '{':
		return p.object()
	case r == '[':
		return p.array()
	case r == '"' || r == '\'':
		return p.str()
	case r == '-' || r == '+' || r == '.' || r >= '0' && r <= '9':
		return p.number()
	case isIdentStart(r):
		line, col := p.line, p.col
		word := p.ident()
		n := &yaml.Node{Kind: yaml.ScalarNode, Line: line, Column: col}
		switch word {
		case "true", "false":
			n.Tag, n.Value = "!!bool", word
		case "null", "undefined": // undefined: PM2 evaluates .json as JavaScript, where it means "not set".
			n.Tag, n.Value = "!!null", "null"
		case "Infinity":
			n.Tag, n.Value = "!!float", ".inf"
		case "NaN":
			n.Tag, n.Value = "!!float", ".nan"
		default:
			return nil, &syntaxError{Line: line, Col: col,
				Msg: fmt.Sprintf("unexpected identifier %q: strings must be quoted", word)}
		}
		return n, nil
	case r < 0:
		return nil, p.errorf("unexpected end of input, expected a value")
	default:
		return nil, p.errorf("unexpected %s, expected a value", p.describe())
	}
}

func (p *json5Parser) enter() error {
	p.depth++
	if p.depth > maxJSON5Depth {
		return p.errorf("nesting deeper than %d levels", maxJSON5Depth)
	}
	return nil
}

func (p *json5Parser) object() (*yaml.Node, error) {
	n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: p.line, Column: p.col}
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	p.advance() // {
	for {
		if err := p.skipSpace(); err != nil {
			return nil, err
		}
		r, _ := p.peek()
		if r == '}' {
			p.advance()
			return n, nil
		}
		var key *yaml.Node
		switch {
		case r == '"' || r == '\'':
			k, err := p.str()
			if err != nil {
				return nil, err
			}
			key = k
		case isIdentStart(r):
			key = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Line: p.line, Column: p.col}
			key.Value = p.ident()
		case r < 0:
			return nil, p.errorf("unexpected end of input in an object opened at line %d, expected a key or '}'", n.Line)
		default:
			return nil, p.errorf("unexpected %s, expected a key or '}'", p.describe())
		}
		if err := p.skipSpace(); err != nil {
			return nil, err
		}
		if r, _ := p.peek(); r != ':' {
			return nil, p.errorf("unexpected %s after key %q, expected ':'", p.describe(), key.Value)
		}
		p.advance()
		if err := p.skipSpace(); err != nil {
			return nil, err
		}
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		n.Content = append(n.Content, key, v)
		if err := p.skipSpace(); err != nil {
			return nil, err
		}
		switch r, _ := p.peek(); r {
		case ',':
			p.advance()
		case '}':
		case -1:
			return nil, p.errorf("unexpected end of input in an object opened at line %d, expected ',' or '}'", n.Line)
		default:
			return nil, p.errorf("unexpected %s after the value of %q, expected ',' or '}'", p.describe(), key.Value)
		}
	}
}

func (p *json5Parser) array() (*yaml.Node, error) {
	n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Line: p.line, Column: p.col}
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	p.advance() // [
	for {
		if err := p.skipSpace(); err != nil {
			return nil, err
		}
		if r, _ := p.peek(); r == ']' {
			p.advance()
			return n, nil
		}
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		n.Content = append(n.Content, v)
		if err := p.skipSpace(); err != nil {
			return nil, err
		}
		switch r, _ := p.peek(); r {
		case ',':
			p.advance()
		case ']':
		case -1:
			return nil, p.errorf("unexpected end of input in an array opened at line %d, expected ',' or ']'", n.Line)
		default:
			return nil, p.errorf("unexpected %s after an array element, expected ',' or ']'", p.describe())
		}
	}
}

func isIdentStart(r rune) bool {
	return r == '$' || r == '_' || r >= 0 && r < utf8.RuneSelf && (r|0x20 >= 'a' && r|0x20 <= 'z') ||
		r >= utf8.RuneSelf && unicode.IsLetter(r)
}

func isIdentPart(r rune) bool {
	return isIdentStart(r) || r >= '0' && r <= '9' ||
		r >= utf8.RuneSelf && (unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Mc, r) || unicode.Is(unicode.Nd, r) ||
			unicode.Is(unicode.Pc, r) || r == '\u200c' || r == '\u200d')
}

// ident reads an ECMAScript IdentifierName (without \u escapes, which no process file uses).
func (p *json5Parser) ident() string {
	start := p.pos
	for {
		r, _ := p.peek()
		if !isIdentPart(r) {
			return string(p.src[start:p.pos])
		}
		p.advance()
	}
}
