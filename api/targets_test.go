package api

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// TestSelect_Issue14Item4: targets are all, ids, names, namespaces, /regexp/ and scripts, in that order.
func TestSelect_Issue14Item4(t *testing.T) {
	items := []TargetKey{
		{ID: 0, Name: "echo-1", Namespace: "web", Script: "/srv/echo.js"},
		{ID: 1, Name: "echo-2", Namespace: "web", Script: "/srv/echo.js"},
		{ID: 2, Name: "echo-3", Namespace: "jobs", Script: "/srv/echo.js"},
		{ID: 3, Name: "web", Namespace: "default", Script: "/usr/bin/sleep"},
		{ID: 4, Name: "other", Namespace: "default", Script: "/srv/other.py"},
		{ID: 5, Name: "notify-crash", Namespace: ModuleNamespace, Script: "/home/a/.gpm/modules/notify-crash/notify-crash"},
	}
	id := func(k TargetKey) TargetKey { return k }
	for _, tc := range []struct {
		targets []string
		want    []int
		code    string
	}{
		{[]string{"all"}, []int{0, 1, 2, 3, 4}, ""}, // not the module
		{[]string{"all", "notify-crash"}, []int{0, 1, 2, 3, 4, 5}, ""},
		{[]string{ModuleNamespace}, []int{5}, ""},
		{[]string{"4", "0"}, []int{0, 4}, ""},
		{[]string{"web"}, []int{3}, ""}, // a name before a namespace
		{[]string{"jobs"}, []int{2}, ""},
		{[]string{"/echo-[1,2]/"}, []int{0, 1}, ""},
		{[]string{"/^o/"}, []int{4}, ""},
		{[]string{"echo.js"}, []int{0, 1, 2}, ""},
		{[]string{"/srv/other.py"}, []int{4}, ""},
		{[]string{"sleep"}, []int{3}, ""},
		{[]string{"other", "4"}, []int{4}, ""},
		{[]string{"nosuch"}, nil, CodeNotFound},
		{[]string{"/zzz/"}, nil, CodeNotFound},
		{[]string{"/[/"}, nil, CodeInvalid},
		{[]string{"07"}, nil, CodeNotFound},
		{nil, nil, CodeInvalid},
	} {
		got, err := Select(tc.targets, items, id)
		var ae *Error
		if tc.code != "" {
			if !errors.As(err, &ae) || ae.Code != tc.code {
				t.Errorf("%q: err %v, want code %s", tc.targets, err, tc.code)
			}
			continue
		}
		var ids []int
		for _, k := range got {
			ids = append(ids, k.ID)
		}
		if err != nil || !slices.Equal(ids, tc.want) {
			t.Errorf("%q: %v %v, want %v", tc.targets, ids, err, tc.want)
		}
	}
	if _, err := Select([]string{"all"}, []TargetKey(nil), id); err == nil {
		t.Error("all of an empty list: want an error")
	}
	if _, err := Select([]string{"all"}, items[5:], id); err == nil || !strings.Contains(err.Error(), "modules only") {
		t.Errorf("all of a list of modules only: %v, want an error that says so", err)
	}
}

// TestSelectRegexpLimit: a /REGEXP/ target longer than MaxTargetRegexp is refused, naming the limit, before it is
// compiled (issue 11: every size has a limit and an error that names it).
func TestSelectRegexpLimit(t *testing.T) {
	long := "/" + strings.Repeat("a", MaxTargetRegexp) + "/"
	_, err := Select([]string{long}, []int{1}, func(i int) TargetKey { return TargetKey{ID: i, Name: "a"} })
	if err == nil || !strings.Contains(err.Error(), "api.MaxTargetRegexp") {
		t.Fatalf("Select of a %d-byte regexp: %v; want the limit named", len(long), err)
	}
	if _, err := Select([]string{"/^a$/"}, []int{1}, func(i int) TargetKey { return TargetKey{ID: i, Name: "a"} }); err != nil {
		t.Fatalf("a short regexp: %v", err)
	}
}
