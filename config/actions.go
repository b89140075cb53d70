package config

import (
	"fmt"
	"regexp"
	"sort"
	"sync"
)

// Limits of an app's actions (App.Actions, `gpm trigger`): they travel in every list and dump.
const (
	MaxActions    = 32  // actions per app
	MaxActionArgs = 256 // words of one action's command
)

// actionName is what an action's name may be made of: it is a word of `gpm trigger APP ACTION` and of the
// run-time action protocol's lines (docs/MODULES.md), so no spaces.
var actionName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9_.:@-]{1,64}$`) }) // on first use: package inits run on every CLI call

// CheckActionName reports whether name may name an action: 1 to 64 letters, digits, _ . : @ -.
func CheckActionName(name string) error {
	if !actionName().MatchString(name) {
		return fmt.Errorf("action name %q: expected 1 to 64 letters, digits, _ . : @ -", name)
	}
	return nil
}

// checkActions validates App.Actions.
func (a *App) checkActions() error {
	if len(a.Actions) > MaxActions {
		return &FieldError{Field: "actions", Msg: fmt.Sprintf("%d actions; at most %d (config.MaxActions)", len(a.Actions), MaxActions)}
	}
	names := make([]string, 0, len(a.Actions))
	for n := range a.Actions {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := CheckActionName(n); err != nil {
			return &FieldError{Field: "actions", Msg: err.Error()}
		}
		argv := a.Actions[n]
		switch {
		case len(argv) == 0 || argv[0] == "":
			return &FieldError{Field: "actions", Msg: fmt.Sprintf("%s: the command is empty", n)}
		case len(argv) > MaxActionArgs:
			return &FieldError{Field: "actions", Msg: fmt.Sprintf("%s: %d words; at most %d (config.MaxActionArgs)", n, len(argv), MaxActionArgs)}
		}
	}
	return nil
}

// cloneActions deep-copies m.
func cloneActions(m map[string][]string) map[string][]string {
	if m == nil {
		return nil
	}
	out := make(map[string][]string, len(m))
	for k, v := range m {
		out[k] = append([]string(nil), v...)
	}
	return out
}
