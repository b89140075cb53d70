package api

import (
	"bytes"
	"encoding/json"
	"testing"
)

// oneLine fails unless b is a single line: the protocol is newline-delimited.
func oneLine(t *testing.T, b []byte) {
	t.Helper()
	if i := bytes.IndexByte(b, '\n'); i != len(b)-1 {
		t.Fatalf("newline at %d of %d: %q", i, len(b), b)
	}
}

// The values each encoder is tried with: whatever json.Marshal makes of them must come back out.
var lineValues = []struct {
	name string
	v    any
}{
	{"nil", nil},
	{"map", map[string]string{"msg": "pong"}},
	{"slice", []int{1, 2, 3}},
	{"strings that need escaping", []string{"line\nbreak", "<tag> & \"quote\"", "tab\t\u2028"}},
	{"nil slice", []Process(nil)},
	{"processes", []Process{{ID: 1, Name: "web", Status: "online", PID: 42}}},
	{"targets", Targets{Targets: []string{"web", "3"}}},
}

func TestRequestLine(t *testing.T) {
	for _, method := range []string{MethodList, "we\"ird\n"} {
		for _, tt := range lineValues {
			t.Run(method+"/"+tt.name, func(t *testing.T) {
				b, err := RequestLine(42, method, tt.v)
				if err != nil {
					t.Fatal(err)
				}
				oneLine(t, b)
				var got Request
				if err := json.Unmarshal(b, &got); err != nil {
					t.Fatalf("%q: %v", b, err)
				}
				want, _ := json.Marshal(tt.v)
				if got.V != Version || got.ID != 42 || got.Method != method || !bytes.Equal(got.Params, want) {
					t.Errorf("decoded %+v (params %s); want v %d id 42 method %q params %s", got, got.Params, Version, method, want)
				}
			})
		}
	}
}

func TestResultLine(t *testing.T) {
	for _, id := range []uint64{0, 7, 1<<64 - 1} {
		for _, tt := range lineValues {
			t.Run(tt.name, func(t *testing.T) {
				b, err := ResultLine(id, tt.v)
				if err != nil {
					t.Fatal(err)
				}
				oneLine(t, b)
				var got Response
				if err := json.Unmarshal(b, &got); err != nil {
					t.Fatalf("%q: %v", b, err)
				}
				want, _ := json.Marshal(tt.v)
				if got.ID != id || !bytes.Equal(got.Result, want) || got.Error != nil {
					t.Errorf("decoded id %d result %s error %v; want id %d result %s", got.ID, got.Result, got.Error, id, want)
				}
			})
		}
	}
}

func TestLineRefusesWhatCannotBeEncoded(t *testing.T) {
	if _, err := RequestLine(1, MethodList, func() {}); err == nil {
		t.Error("RequestLine: no error")
	}
	if _, err := ResultLine(1, make(chan int)); err == nil {
		t.Error("ResultLine: no error")
	}
}

// appended encodes itself by hand, as json.Marshal would encode v.
type appended struct{ v any }

func (a appended) AppendJSON(b []byte) []byte {
	m, err := json.Marshal(a.v)
	if err != nil {
		panic(err)
	}
	return append(b, m...)
}

// A JSONAppender's line, from ResultLine, RequestLine or AppendResultLine onto a buffer already used, is the line
// of the value it stands for.
func TestJSONAppenderLines(t *testing.T) {
	for _, tt := range lineValues {
		for _, id := range []uint64{0, 1, 7, 1 << 63} {
			want, err := ResultLine(id, tt.v)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ResultLine(id, appended{tt.v})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s, id %d: ResultLine %q, want %q", tt.name, id, got, want)
			}
			buf := append(make([]byte, 0, 4), "leftover"...)
			if got := AppendResultLine(buf[:0], id, appended{tt.v}); !bytes.Equal(got, want) {
				t.Errorf("%s, id %d: AppendResultLine %q, want %q", tt.name, id, got, want)
			}
			wantReq, err := RequestLine(id, "list", tt.v)
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := RequestLine(id, "list", appended{tt.v}); !bytes.Equal(got, wantReq) {
				t.Errorf("%s, id %d: RequestLine %q, want %q", tt.name, id, got, wantReq)
			}
		}
	}
}
