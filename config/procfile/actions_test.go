package procfile

import (
	"github.com/gpmd/gpm/config"
	"strings"
	"testing"
)

// TestActionsField: `actions` takes lists or command lines; bad names, empty commands and too many actions are
// refused, naming the field.
func TestActionsField(t *testing.T) {
	base := t.TempDir()
	f, err := Parse("e.yaml", []byte("apps:\n- name: a\n  script: /bin/sleep\n  actions:\n    dump: [/bin/echo, one]\n    flush: \"sh -c 'echo two'\"\n"), base, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	acts := f.Apps[0].Actions
	if strings.Join(acts["dump"], "|") != "/bin/echo|one" || strings.Join(acts["flush"], "|") != "sh|-c|echo two" {
		t.Errorf("actions %q", acts)
	}
	c := f.Apps[0].Clone()
	c.Actions["dump"][0] = "x"
	if f.Apps[0].Actions["dump"][0] != "/bin/echo" {
		t.Errorf("Clone shares the actions")
	}
	many := "apps:\n- name: a\n  script: /bin/sleep\n  actions:\n"
	for i := 0; i <= config.MaxActions; i++ {
		many += "    a" + strings.Repeat("x", i) + ": [x]\n"
	}
	for name, src := range map[string]string{
		"space":  "apps:\n- name: a\n  script: /bin/sleep\n  actions: {\"two words\": [x]}\n",
		"empty":  "apps:\n- name: a\n  script: /bin/sleep\n  actions: {e: []}\n",
		"scalar": "apps:\n- name: a\n  script: /bin/sleep\n  actions: [x]\n",
		"many":   many,
	} {
		if _, err := Parse("e.yaml", []byte(src), base, LoadOptions{}); err == nil || !strings.Contains(err.Error(), "actions") {
			t.Errorf("%s: %v, want an error naming actions", name, err)
		}
	}
}
