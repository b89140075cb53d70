package main

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/gpmd/gpm/api"
)

// decodeRows decodes what json.Unmarshal decodes, with the same error or none, for the daemon's own lists (which
// its scanner must read itself) and for anything else: escapes, whitespace, null, other members, numbers JSON
// refuses, cut or damaged lists.
func TestDecodeRows(t *testing.T) {
	pieces := []string{"", "a", "web-1", "default", "online", "fork", `"`, `\`, "\n", "\x01", "<&>", "é", "日本", "\u2028",
		"\xff", "😀", "/", "%"}
	rnd := rand.New(rand.NewPCG(7, 8))
	plain := []string{"", "a", "web-1", "default", "online", "fork", "é", "日本", "😀", "/", "%", " "}
	var clean bool // the strings of this list need no escape: the scanner reads it
	str := func() string {
		from := pieces
		if clean {
			from = plain
		}
		var sb strings.Builder
		for range rnd.IntN(4) {
			sb.WriteString(from[rnd.IntN(len(from))])
		}
		return sb.String()
	}
	floats := []float64{0, 0.5, 12.25, 1e-7, 1e21, -3, math.MaxFloat64, 1.0 / 3}
	var inputs []string
	for i := range 400 {
		clean = i%2 == 0
		var list []api.Process
		for range rnd.IntN(20) {
			list = append(list, api.Process{ID: rnd.IntN(5000), Name: str(), Namespace: str(), PID: rnd.IntN(1 << 22),
				Status: str(), Restarts: rnd.IntN(100), Mode: str(), UptimeMS: rnd.Int64N(1 << 40),
				CPU: floats[rnd.IntN(len(floats))], Memory: rnd.Uint64() >> rnd.IntN(64), StatusText: str()})
		}
		full, err := json.Marshal(list)
		if err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, string(full)) // an older daemon's whole records
		// The daemon's answer to ls: the row members only, through its own encoder (service.appendProcess is
		// encoding/json's).
		var rows []any
		for _, p := range list {
			rows = append(rows, row{ID: p.ID, Name: p.Name, Namespace: p.Namespace, PID: p.PID, Status: p.Status,
				Restarts: p.Restarts, Mode: p.Mode, UptimeMS: p.UptimeMS, CPU: p.CPU, Memory: p.Memory, StatusText: p.StatusText})
		}
		b, err := json.Marshal(rows)
		if err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, string(b))
		// Damaged: a byte changed, cut, or something inserted.
		for range 3 {
			d := []byte(b)
			if len(d) > 0 {
				i := rnd.IntN(len(d))
				switch rnd.IntN(3) {
				case 0:
					const junk = "{}[],:\"\\ 0-.eE+x"
					d[i] = junk[rnd.IntN(len(junk))]
				case 1:
					d = d[:i]
				default:
					d = append(d[:i:i], append([]byte(" null "), d[i:]...)...)
				}
			}
			inputs = append(inputs, string(d))
		}
	}
	inputs = append(inputs, `[]`, `null`, `[{}]`, `[{"id":01}]`, `[{"id":1.5}]`, `[{"id":-0}]`, `[{"id":+1}]`,
		`[{"cpu":1e400}]`, `[{"cpu":-}]`, `[{"cpu":1.}]`, `[{"cpu":.5}]`, `[{"cpu":1e}]`, `[{"memory":-1}]`,
		`[{"id":99999999999999999999}]`, `[{"ID":3}]`, `[{"name":"a","name":"b"}]`, `[{"name":null}]`, ` []`, `[] `,
		`[{"name":"a"}}`, `[{"name":"a"},]`, `[{"name":"\u0041"}]`, `{"id":1}`, `[1]`, `[{"name":"a"`, `[`)
	fast := 0
	for _, in := range inputs {
		if in == "" {
			continue // no result at all: Call leaves the list empty, decodeRows too (below)
		}
		var want []row
		wantErr := json.Unmarshal([]byte(in), &want)
		got, gotErr := decodeRows([]byte(in))
		if (gotErr != nil) != (wantErr != nil) {
			t.Fatalf("%q: error %v, json.Unmarshal's %v", in, gotErr, wantErr)
		}
		if wantErr == nil && !reflect.DeepEqual(got, want) && !(len(got) == 0 && len(want) == 0) {
			t.Fatalf("%q:\n got %+v\nwant %+v", in, got, want)
		}
		if _, ok := scanRows([]byte(in)); ok {
			fast++
		}
	}
	if got, err := decodeRows(nil); got != nil || err != nil {
		t.Errorf("no result: %v, %v", got, err)
	}
	if fast < 200 { // 200 clean lists, and some of their damaged copies
		t.Errorf("the scanner read %d inputs of %d itself: the daemon's lists should be all of them", fast, len(inputs))
	}
}
