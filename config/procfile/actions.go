package procfile

import (
	"fmt"

	"go.yaml.in/yaml/v3"
)

// setActions decodes `actions: {name: [argv...] | "command line"}`.
func setActions(c *appDecoder, n *yaml.Node) error {
	n = deref(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return fmt.Errorf("must be an object of name: [command, args...], got %s", describe(n))
	}
	pairs, err := mappingPairs(n, 0)
	if err != nil {
		return err
	}
	out := make(map[string][]string, len(pairs))
	for _, p := range pairs {
		argv, err := stringList(p.value)
		if err != nil {
			return fmt.Errorf("%s %w", p.key.Value, err)
		}
		out[p.key.Value] = argv
	}
	c.app.Actions = out
	return nil
}
