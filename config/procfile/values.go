package procfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/gpmd/gpm/config"
	"math"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Coercions from yaml.Node values to Go values, shared by process files (JSON5, YAML, node output) and dump.pm2.
// The error messages complete a FieldError: "<app>.<field> " + message.

// maxEnvJSON bounds the JSON text made from one env value, so that YAML aliases nested into a "billion laughs"
// cannot make gpm build gigabytes of environment.
const maxEnvJSON = 1 << 20

// scalarString returns the text of a string or number. Booleans, null and collections are refused.
func scalarString(n *yaml.Node) (string, bool) {
	n = deref(n)
	if n == nil || n.Kind != yaml.ScalarNode {
		return "", false
	}
	switch n.ShortTag() {
	case "!!str":
		return n.Value, true
	case "!!int", "!!float":
		return numberText(n), true
	}
	return "", false
}

func stringValue(n *yaml.Node) (string, error) {
	if s, ok := scalarString(n); ok {
		return s, nil
	}
	return "", fmt.Errorf("must be a string, got %s", describe(n))
}

// boolValue accepts true/false and the strings "true"/"false" (any case).
func boolValue(n *yaml.Node) (bool, error) {
	n = deref(n)
	if n != nil && n.Kind == yaml.ScalarNode {
		var b bool
		if n.ShortTag() == "!!bool" && n.Decode(&b) == nil {
			return b, nil
		}
		switch strings.ToLower(strings.TrimSpace(n.Value)) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
	}
	return false, fmt.Errorf("must be true or false, got %s", describe(n))
}

// number returns a numeric value or a numeric string as a float64; ok is false for anything else.
func number(n *yaml.Node) (float64, bool) {
	n = deref(n)
	if n == nil || n.Kind != yaml.ScalarNode {
		return 0, false
	}
	var f float64
	switch n.ShortTag() {
	case "!!int", "!!float":
		if n.Decode(&f) == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
			return f, true
		}
	case "!!str":
		f, err := strconv.ParseFloat(strings.TrimSpace(n.Value), 64)
		if err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
			return f, true
		}
	}
	return 0, false
}

// intValue accepts an integer, or a string holding one, within [lo, hi].
func intValue(n *yaml.Node, lo, hi int64) (int64, error) {
	f, ok := number(n)
	if !ok || f != math.Trunc(f) {
		return 0, fmt.Errorf("must be an integer, got %s", describe(n))
	}
	if f < float64(lo) || f > float64(hi) {
		return 0, fmt.Errorf("must be between %d and %d, got %s", lo, hi, describe(n))
	}
	return int64(f), nil
}

// millisValue accepts milliseconds as a number or numeric string, or a string with a unit ("2s").
func millisValue(n *yaml.Node) (config.Millis, error) {
	if f, ok := number(n); ok && f >= 0 && f < math.MaxInt64 {
		return config.Millis(math.Round(f)), nil
	}
	if s, ok := scalarString(n); ok {
		if m, err := config.ParseMillis(s); err == nil {
			return m, nil
		}
	}
	return 0, fmt.Errorf(`must be milliseconds or a duration such as "2s" or "500ms", got %s`, describe(n))
}

// sizeValue accepts bytes as a number, or a size string ("200M").
func sizeValue(n *yaml.Node) (int64, error) {
	if f, ok := number(n); ok && f >= 0 && f < math.MaxInt64 {
		return int64(f), nil
	}
	if s, ok := scalarString(n); ok {
		if b, err := config.ParseSize(s); err == nil {
			return b, nil
		}
	}
	return 0, fmt.Errorf(`must be bytes or a size such as "200M" or "1G", got %s`, describe(n))
}

// stringList accepts a list of strings or numbers, or one string split into words as a shell would (no expansion).
func stringList(n *yaml.Node) ([]string, error) {
	n = deref(n)
	if n != nil && n.Kind == yaml.SequenceNode {
		return sequence(n, "a string")
	}
	s, ok := scalarString(n)
	if !ok {
		return nil, fmt.Errorf("must be a string or a list of strings, got %s", describe(n))
	}
	words, err := config.SplitArgs(s)
	if err != nil {
		return nil, fmt.Errorf("must be a list or a command-line string: %w", err)
	}
	return words, nil
}

// pathList accepts one path or a list of them; unlike stringList, a string is one path, spaces and all.
func pathList(n *yaml.Node) ([]string, error) {
	if s, ok := scalarString(n); ok {
		return []string{s}, nil
	}
	n = deref(n)
	if n == nil || n.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("must be a path or a list of paths, got %s", describe(n))
	}
	return sequence(n, "a path")
}

// sequence returns the scalars of the sequence n as strings; each must be what (for the error).
func sequence(n *yaml.Node, what string) ([]string, error) {
	out := make([]string, 0, len(n.Content))
	for i, e := range n.Content {
		s, ok := scalarString(e)
		if !ok {
			return nil, fmt.Errorf("[%d] must be %s, got %s", i, what, describe(e))
		}
		out = append(out, s)
	}
	return out, nil
}

// intList accepts one integer or a list of them.
func intList(n *yaml.Node, lo, hi int64) ([]int, error) {
	n = deref(n)
	elems := []*yaml.Node{n}
	if n != nil && n.Kind == yaml.SequenceNode {
		elems = n.Content
	}
	out := make([]int, 0, len(elems))
	for _, e := range elems {
		v, err := intValue(e, lo, hi)
		if err != nil {
			return nil, fmt.Errorf("must be an integer or a list of integers, got %s", describe(e))
		}
		out = append(out, int(v))
	}
	return out, nil
}

// envValues converts an env object to strings as PM2 passes them to the child: numbers and booleans as JavaScript
// prints them, objects and lists as JSON text. null becomes "" (PM2 would pass the string "null", which nobody
// means; a YAML "KEY:" with no value is null).
func envValues(n *yaml.Node) (map[string]string, error) {
	n = deref(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("must be an object of NAME: value, got %s", describe(n))
	}
	pairs, err := mappingPairs(n, 0)
	if err != nil {
		return nil, err
	}
	env := make(map[string]string, len(pairs))
	for _, p := range pairs {
		k := p.key.Value
		if k == "" || strings.ContainsAny(k, "=\x00") {
			return nil, fmt.Errorf("has an invalid variable name %q (line %d)", k, p.key.Line)
		}
		v, err := envValue(p.value)
		if err != nil {
			return nil, fmt.Errorf("%s %w", k, err)
		}
		if strings.ContainsRune(v, 0) {
			return nil, fmt.Errorf("%s must not contain a NUL character", k)
		}
		env[k] = v
	}
	return env, nil
}

func envValue(n *yaml.Node) (string, error) {
	n = deref(n)
	if n.Kind != yaml.ScalarNode {
		var b bytes.Buffer
		if err := writeJSON(&b, n, 0); err != nil {
			return "", err
		}
		return b.String(), nil
	}
	switch n.ShortTag() {
	case "!!null":
		return "", nil
	case "!!bool":
		b, err := boolValue(n)
		return strconv.FormatBool(b), err
	case "!!int", "!!float":
		return numberText(n), nil
	}
	return n.Value, nil
}

// numberText prints a number node as JavaScript's String(number) would for common values: 0x10 → "16", 1e3 → "1000".
func numberText(n *yaml.Node) string {
	var i int64
	if n.ShortTag() == "!!int" && n.Decode(&i) == nil {
		return strconv.FormatInt(i, 10)
	}
	var f float64
	if n.Decode(&f) != nil {
		return n.Value
	}
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case f == 0 || math.Abs(f) >= 1e-6 && math.Abs(f) < 1e21:
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	// JavaScript writes 1e+21 and 1e-7 where Go writes 1e+21 and 1e-07.
	mant, exp, _ := strings.Cut(strconv.FormatFloat(f, 'e', -1, 64), "e")
	return mant + "e" + exp[:1] + strings.TrimLeft(exp[1:], "0")
}

// writeJSON renders n as JSON text, keeping key order, the way JSON.stringify renders a nested env value.
func writeJSON(b *bytes.Buffer, n *yaml.Node, depth int) error {
	n = deref(n)
	if depth > maxNesting || b.Len() > maxEnvJSON {
		return errors.New("is nested too deeply or too large to pass as an environment variable")
	}
	switch n.Kind {
	case yaml.MappingNode:
		pairs, err := mappingPairs(n, depth)
		if err != nil {
			return err
		}
		b.WriteByte('{')
		for i, p := range pairs {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSONString(b, p.key.Value)
			b.WriteByte(':')
			if err := writeJSON(b, p.value, depth+1); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	case yaml.SequenceNode:
		b.WriteByte('[')
		for i, e := range n.Content {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := writeJSON(b, e, depth+1); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	default:
		switch n.ShortTag() {
		case "!!null":
			b.WriteString("null")
		case "!!bool", "!!int", "!!float":
			s, _ := envValue(n)
			if s == "NaN" || s == "Infinity" || s == "-Infinity" {
				s = "null" // as JSON.stringify does
			}
			b.WriteString(s)
		default:
			writeJSONString(b, n.Value)
		}
	}
	return nil
}

func writeJSONString(b *bytes.Buffer, s string) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false) // JSON.stringify does not escape <, > and &
	_ = enc.Encode(s)        // a string always encodes
	b.Truncate(b.Len() - 1)  // Encode appends a newline
}
