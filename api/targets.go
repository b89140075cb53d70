package api

import (
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// TargetKey is what a target is matched against: one process's id, app name, namespace and script (as its
// config holds it: an absolute path or a command name).
type TargetKey struct {
	ID        int
	Name      string
	Namespace string
	Script    string
}

// Select returns the items that targets select, each once, ordered by id; key gives an item's TargetKey. Each
// target is, in this order, the first of these that matches anything:
//
//   - "all": every item but the modules' (namespace ModuleNamespace; an error when there is none);
//   - an id (all digits: app names cannot be all digits, config.CheckName, so an id never hides a name);
//   - an app name;
//   - a namespace;
//   - /REGEXP/: the apps whose name the regular expression matches (Go's syntax, unanchored, as PM2's JavaScript
//     RegExp test);
//   - a script: the script's path as the config holds it, or its file name (PM2's `gpm stop echo.js`).
//
// A target that matches nothing is an *Error with CodeNotFound; a /REGEXP/ that does not compile, CodeInvalid.
// Both name the target. The daemon resolves every request's targets with it; the CLI uses it on `gpm jlist` to
// act as the daemon would.
func Select[T any](targets []string, items []T, key func(T) TargetKey) ([]T, error) {
	if len(targets) == 0 {
		return nil, &Error{Code: CodeInvalid, Message: "no target given: name an id, a name, a namespace, /regexp/, a script or all"}
	}
	keys := make([]TargetKey, len(items))
	for i, it := range items {
		keys[i] = key(it)
	}
	picked := map[int]bool{} // index into items
	for _, t := range targets {
		if t == "all" && !slices.ContainsFunc(keys, isApp) {
			msg := "no process to act on: the list is empty"
			if len(keys) > 0 {
				msg = "no process to act on: the list has modules only (all leaves them out, as PM2's does: name one, or namespace " + ModuleNamespace + ")"
			}
			return nil, &Error{Code: CodeNotFound, Message: msg}
		}
		m, err := matcher(t)
		if err != nil {
			return nil, err
		}
		matched := false
		for _, match := range m {
			for i, k := range keys {
				if match(k) {
					matched, picked[i] = true, true
				}
			}
			if matched {
				break
			}
		}
		if !matched {
			return nil, &Error{Code: CodeNotFound, Message: fmt.Sprintf("process or namespace %q not found", t)}
		}
	}
	idx := make([]int, 0, len(picked))
	for i := range picked {
		idx = append(idx, i)
	}
	slices.SortFunc(idx, func(a, b int) int { return keys[a].ID - keys[b].ID })
	out := make([]T, len(idx))
	for j, i := range idx {
		out[j] = items[i]
	}
	return out, nil
}

// MaxTargetRegexp bounds a /REGEXP/ target, slashes included: RE2 compiles in time and memory linear in the
// pattern, and a request may be 16 MiB.
const MaxTargetRegexp = 1024

// matcher returns the tests of target t, in the order Select tries them.
// isApp: the target "all" is every process but the modules' (namespace ModuleNamespace), as PM2's `all` leaves its
// modules out: `gpm stop all` must not stop the log shipper or the crash notifier watching the apps.
func isApp(k TargetKey) bool { return k.Namespace != ModuleNamespace }

func matcher(t string) ([]func(TargetKey) bool, error) {
	if t == "all" {
		return []func(TargetKey) bool{isApp}, nil
	}
	var m []func(TargetKey) bool
	if id, err := strconv.Atoi(t); err == nil && strings.Trim(t, "0123456789") == "" {
		m = append(m, func(k TargetKey) bool { return k.ID == id })
	}
	m = append(m,
		func(k TargetKey) bool { return k.Name == t },
		func(k TargetKey) bool { return k.Namespace == t })
	if len(t) >= 2 && strings.HasPrefix(t, "/") && strings.HasSuffix(t, "/") {
		if len(t) > MaxTargetRegexp {
			return nil, &Error{Code: CodeInvalid, Message: fmt.Sprintf("target /.../ of %d bytes: a regular expression target has at most %d (api.MaxTargetRegexp)", len(t), MaxTargetRegexp)}
		}
		re, err := regexp.Compile(t[1 : len(t)-1])
		if err != nil {
			return nil, &Error{Code: CodeInvalid, Message: fmt.Sprintf("target %s: %v", t, err)}
		}
		m = append(m, func(k TargetKey) bool { return re.MatchString(k.Name) })
	}
	return append(m, func(k TargetKey) bool {
		return k.Script != "" && (k.Script == t || filepath.Base(k.Script) == t)
	}), nil
}
