package api

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

// Fuzz targets for the control protocol as the daemon reads it: a line is decoded into a Request, then its params
// into the method's type (service/control.go decode[T], a plain json.Unmarshal). Seeds: testdata/fuzz/FuzzXxx,
// lines the CLI writes.

// paramTypes returns a new value of every params type a method decodes, by name.
func paramTypes() map[string]any {
	return map[string]any{
		"StartParams": new(StartParams), "Targets": new(Targets), "RestartParams": new(RestartParams),
		"ScaleParams": new(ScaleParams), "SignalParams": new(SignalParams), "SaveParams": new(SaveParams),
		"LogsParams": new(LogsParams), "ReloadParams": new(ReloadParams),
		// MethodEnv's params (an inline struct in service/control.go)
		"env": new(struct {
			ID int `json:"id"`
		}),
	}
}

// FuzzDecodeRequest decodes a request line as the daemon does; a request it accepts must write back (RequestLine,
// the client's encoder) as one line that decodes to the same request, and its params go on to FuzzDecodeParams'
// checks.
func FuzzDecodeRequest(f *testing.F) {
	f.Fuzz(func(t *testing.T, line []byte) {
		var req Request
		if err := json.Unmarshal(line, &req); err != nil {
			return
		}
		b, err := RequestLine(req.ID, req.Method, req.Params)
		if err != nil {
			// json.RawMessage holding something json.Unmarshal accepted is valid JSON: re-encoding cannot fail
			t.Fatalf("RequestLine of %q: %v", line, err)
		}
		oneLine(t, b)
		var again Request
		if err := json.Unmarshal(b, &again); err != nil {
			t.Fatalf("RequestLine wrote %q, which does not decode: %v", b, err)
		}
		if again.V != Version || again.ID != req.ID || again.Method != req.Method || !sameJSON(t, again.Params, req.Params) {
			t.Fatalf("request %q written as %q decodes to %+v", line, b, again)
		}
		checkParams(t, req.Params)
	})
}

// FuzzDecodeParams decodes a params object into every params type.
func FuzzDecodeParams(f *testing.F) {
	f.Fuzz(func(t *testing.T, params []byte) {
		checkParams(t, params)
	})
}

// checkParams decodes raw into each params type: a value it accepts must encode, and decode again to a value that
// encodes the same (so what the daemon saves to dump.json or passes on reads back unchanged).
func checkParams(t *testing.T, raw []byte) {
	if len(raw) == 0 {
		return
	}
	for name, v := range paramTypes() {
		if err := json.Unmarshal(raw, v); err != nil {
			continue
		}
		first, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("%s decoded from %q does not encode: %v", name, raw, err)
		}
		w := paramTypes()[name]
		if err := json.Unmarshal(first, w); err != nil {
			t.Fatalf("%s decoded from %q, encoded as %q, does not decode: %v", name, raw, first, err)
		}
		if second, _ := json.Marshal(w); !bytes.Equal(first, second) {
			t.Fatalf("%s from %q: encoded %q, then %q", name, raw, first, second)
		}
	}
}

// sameJSON reports whether a and b are the same JSON value (absent and null alike): the encoder may escape
// differently ("&" as \u0026) or drop blanks.
func sameJSON(t *testing.T, a, b json.RawMessage) bool {
	t.Helper()
	value := func(r json.RawMessage) any {
		if len(r) == 0 {
			return nil
		}
		d := json.NewDecoder(bytes.NewReader(r))
		d.UseNumber()
		var v any
		if err := d.Decode(&v); err != nil {
			t.Fatalf("decode %q: %v", r, err)
		}
		return v
	}
	return reflect.DeepEqual(value(a), value(b))
}

// FuzzResultLine encodes answers with ResultLine, the daemon's encoder: the process list decoded from a fuzzed
// jlist, and a fuzzed string (an error text, a log line); each must be one line that decodes to the same value.
func FuzzResultLine(f *testing.F) {
	f.Fuzz(func(t *testing.T, id uint64, data []byte) {
		var procs []Process
		values := []any{string(data)}
		if json.Unmarshal(data, &procs) == nil {
			values = append(values, procs)
		}
		for _, v := range values {
			b, err := ResultLine(id, v)
			if err != nil {
				t.Fatalf("ResultLine(%d, %#v): %v", id, v, err)
			}
			oneLine(t, b)
			var resp Response
			if err := json.Unmarshal(b, &resp); err != nil {
				t.Fatalf("ResultLine wrote %q, which does not decode: %v", b, err)
			}
			want, _ := json.Marshal(v)
			if resp.ID != id || resp.Error != nil || resp.Event != nil || !bytes.Equal(resp.Result, want) {
				t.Fatalf("ResultLine(%d, ...) = %q, decodes to id %d result %s; want %s", id, b, resp.ID, resp.Result, want)
			}
		}
	})
}
