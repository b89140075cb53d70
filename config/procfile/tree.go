package procfile

import (
	"errors"
	"fmt"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// Walking yaml.Node trees: aliases, merge keys, and the limits that keep hostile YAML from blowing up.

// maxNesting bounds recursion through YAML aliases, which may form cycles.
const maxNesting = 64

// maxExpandedNodes bounds the size of a YAML document with its aliases expanded. Process files have hundreds of
// nodes; anchors nested into a "billion laughs", or merge keys (<<: [*a, *a, ...]) at several levels, would
// otherwise make every walk of the tree exponential.
const maxExpandedNodes = 100_000

// checkExpansion returns an error when n, with its aliases expanded, has more than maxExpandedNodes nodes or
// contains itself (yaml.v3 registers an anchor before parsing its children, so "&a {b: *a}" is a cycle).
// It runs in time linear in the document.
func checkExpansion(n *yaml.Node) error {
	const inProgress = -1
	sizes := map[*yaml.Node]int{}
	var size func(n *yaml.Node, depth int) (int, error)
	size = func(n *yaml.Node, depth int) (int, error) {
		if depth > maxJSON5Depth {
			return 0, errors.New("nested too deeply")
		}
		switch s, ok := sizes[n]; {
		case ok && s == inProgress:
			return 0, fmt.Errorf("line %d: an alias refers to a node that contains it", n.Line)
		case ok:
			return s, nil
		}
		sizes[n] = inProgress
		total := 1
		children := n.Content
		if n.Kind == yaml.AliasNode && n.Alias != nil {
			children = []*yaml.Node{n.Alias}
		}
		for _, c := range children {
			s, err := size(c, depth+1)
			if err != nil {
				return 0, err
			}
			if total += s; total > maxExpandedNodes {
				return 0, fmt.Errorf("line %d: aliases expand to more than %d values", n.Line, maxExpandedNodes)
			}
		}
		sizes[n] = total
		return total, nil
	}
	_, err := size(n, 0)
	return err
}

// deref follows YAML aliases; it returns n unchanged when n is not an alias.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < maxNesting; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	n = deref(n)
	return n == nil || n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// describe renders a value for "got ..." in an error message.
func describe(n *yaml.Node) string {
	n = deref(n)
	switch {
	case n == nil:
		return "nothing"
	case n.Kind == yaml.MappingNode:
		return "an object"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	case n.ShortTag() == "!!str":
		return strconv.Quote(n.Value)
	default:
		return n.Value
	}
}

// pair is one key and value of a mapping.
type pair struct{ key, value *yaml.Node }

// mappingPairs lists the entries of a mapping, expanding YAML merge keys ("<<: *defaults"): explicit keys win over
// merged ones, and among merged mappings the first wins, as the YAML merge-key spec says.
func mappingPairs(n *yaml.Node, depth int) ([]pair, error) {
	n = deref(n)
	if depth > maxNesting {
		return nil, errors.New("is nested too deeply (a YAML alias may refer to itself)")
	}
	var explicit, merged []pair
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode || k.Value != "<<" || k.ShortTag() != "!!merge" {
			explicit = append(explicit, pair{k, v})
			continue
		}
		v = deref(v)
		sources := []*yaml.Node{v}
		if v.Kind == yaml.SequenceNode {
			sources = v.Content
		}
		for _, s := range sources {
			if s = deref(s); s.Kind != yaml.MappingNode {
				return nil, fmt.Errorf("has a merge key (<<) at line %d that does not refer to a mapping", k.Line)
			}
			m, err := mappingPairs(s, depth+1)
			if err != nil {
				return nil, err
			}
			merged = append(merged, m...)
		}
	}
	seen := make(map[string]bool, len(explicit)+len(merged))
	for _, p := range explicit {
		seen[p.key.Value] = true
	}
	for _, p := range merged {
		if !seen[p.key.Value] {
			seen[p.key.Value] = true
			explicit = append(explicit, p)
		}
	}
	return explicit, nil
}
