package procfile

import (
	"errors"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestJSON5Scalars(t *testing.T) {
	tests := []struct {
		src, tag, value string
	}{
		{`'single'`, "!!str", "single"},
		{`"dq \"x\" 'y'"`, "!!str", `dq "x" 'y'`},
		{`'it\'s'`, "!!str", "it's"},
		{`"tab\there\nnl \/ \\"`, "!!str", "tab\there\nnl / \\"},
		{`"\x41\u00e9\uD83D\uDE00"`, "!!str", "Aé😀"},
		{`"\uD83D alone"`, "!!str", "\uFFFD alone"},
		{"'line \\\ncontinued'", "!!str", "line continued"},
		{`"\v\f\b\0"`, "!!str", "\v\f\b\x00"},
		{`"ünï"`, "!!str", "ünï"},
		{`42`, "!!int", "42"},
		{`-7`, "!!int", "-7"},
		{`+5`, "!!int", "5"},
		{`0x1F`, "!!int", "31"},
		{`-0xff`, "!!int", "-255"},
		{`.5`, "!!float", "0.5"},
		{`5.`, "!!int", "5"},
		{`1.5e3`, "!!float", "1.5e3"},
		{`2.e1`, "!!float", "2.0e1"},
		{`Infinity`, "!!float", ".inf"},
		{`-Infinity`, "!!float", "-.inf"},
		{`NaN`, "!!float", ".nan"},
		{`true`, "!!bool", "true"},
		{`null`, "!!null", "null"},
		{`undefined`, "!!null", "null"},
		{"\uFEFF /* c */ 'bom' // c", "!!str", "bom"},
	}
	for _, tt := range tests {
		n, err := parseJSON5([]byte(tt.src))
		if err != nil {
			t.Errorf("%s: %v", tt.src, err)
			continue
		}
		if n.Kind != yaml.ScalarNode || n.Tag != tt.tag || n.Value != tt.value {
			t.Errorf("%s: got %s %q, want %s %q", tt.src, n.Tag, n.Value, tt.tag, tt.value)
		}
	}
}

func TestJSON5Positions(t *testing.T) {
	src := "// head\n{\n  /* multi\n line */ a: 1,\n  'b': [\n    2,\n  ],\n\r\n  \"c\": {d: 'x'},\n}\n"
	n, err := parseJSON5([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"a": 4, "b": 5, "c": 9}
	for i := 0; i < len(n.Content); i += 2 {
		k := n.Content[i]
		if want[k.Value] != k.Line {
			t.Errorf("key %s at line %d, want %d", k.Value, k.Line, want[k.Value])
		}
	}
	if got := n.Content[3].Content[0].Line; got != 6 {
		t.Errorf("array element at line %d, want 6", got)
	}
	if n.Line != 2 || n.Column != 1 {
		t.Errorf("object at %d:%d, want 2:1", n.Line, n.Column)
	}
}

func TestJSON5Errors(t *testing.T) {
	tests := []struct {
		src       string
		line, col int
		msg       string
	}{
		{"{a: 1 b: 2}", 1, 7, "expected ',' or '}'"},
		{"[1,\n2\n3]", 3, 1, "expected ',' or ']'"},
		{"{a 1}", 1, 4, "expected ':'"},
		{"{,}", 1, 2, "expected a key"},
		{"[,]", 1, 2, "expected a value"},
		{"{a: 1", 1, 6, "end of input"},
		{"'abc", 1, 1, "unterminated string"},
		{"\"a\nb\"", 1, 3, "unterminated string"},
		{"007", 1, 1, "leading zeros"},
		{"1.2.3", 1, 1, "invalid number"},
		{"0xZZ", 1, 1, "invalid number"},
		{`"\u12"`, 1, 2, "truncated escape"},
		{`"\u12zz"`, 1, 2, "hex digits"},
		{`"\1"`, 1, 2, "invalid escape"},
		{"[1] [2]", 1, 5, "after the end"},
		{"{\n  a: foo\n}", 2, 6, `unexpected identifier "foo"`},
		{strings.Repeat("[", maxJSON5Depth+1), 1, maxJSON5Depth + 1, "nesting deeper"},
	}
	for _, tt := range tests {
		_, err := parseJSON5([]byte(tt.src))
		var se *syntaxError
		if !errors.As(err, &se) {
			t.Errorf("%q: err = %v, want a syntax error", tt.src, err)
			continue
		}
		if se.Line != tt.line || se.Col != tt.col || !strings.Contains(se.Msg, tt.msg) {
			t.Errorf("%q: %d:%d %q, want %d:%d containing %q", tt.src, se.Line, se.Col, se.Msg, tt.line, tt.col, tt.msg)
		}
	}
}

func TestJSON5Empty(t *testing.T) {
	for _, src := range []string{"", "  \n", "// only a comment", "/* c */"} {
		if n, err := parseJSON5([]byte(src)); n != nil || err != nil {
			t.Errorf("%q: %v, %v; want nil, nil", src, n, err)
		}
	}
}
