package service

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/gpmd/gpm/api"
)

func TestEncodeResult(t *testing.T) {
	tests := []struct {
		name   string
		id     uint64
		result any
	}{
		{"no id", 0, map[string]string{"msg": "pong"}},
		{"id", 7, []int{1, 2, 3}},
		{"largest id", 1<<64 - 1, true},
		{"strings that need escaping", 3, []string{"line\nbreak", "<tag> & \"quote\"", "tab\t\u2028"}},
		{"null", 4, []api.Process(nil)},
		{"processes", 5, []api.Process{{ID: 1, Name: "web", Status: "online", PID: 42}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			line, err := encodeResult(tt.id, tt.result)
			if err != nil {
				t.Fatal(err)
			}
			// One line: the protocol is newline-delimited.
			if i := bytes.IndexByte(line, '\n'); i != len(line)-1 {
				t.Fatalf("newline at %d of %d: %q", i, len(line), line)
			}
			var got api.Response
			if err := json.Unmarshal(line, &got); err != nil {
				t.Fatalf("%q: %v", line, err)
			}
			want, _ := json.Marshal(tt.result)
			if got.ID != tt.id || !bytes.Equal(got.Result, want) || got.Error != nil {
				t.Errorf("decoded id %d result %s error %v; want id %d result %s", got.ID, got.Result, got.Error, tt.id, want)
			}
		})
	}
	if _, err := encodeResult(1, func() {}); err == nil {
		t.Error("a result that cannot be encoded: no error")
	}
}
