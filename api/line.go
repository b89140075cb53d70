package api

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// RequestLine is a Request as one line of the protocol, with params encoded as its Params.
func RequestLine(id uint64, method string, params any) ([]byte, error) {
	m, err := json.Marshal(method)
	if err != nil {
		return nil, err
	}
	return line(fmt.Sprintf(`{"v":%d,"id":%d,"method":%s,"params":`, Version, id, m), params)
}

// ResultLine is a successful Response as one line of the protocol, with result encoded as its Result.
func ResultLine(id uint64, result any) ([]byte, error) {
	if a, ok := result.(JSONAppender); ok {
		return AppendResultLine(nil, id, a), nil
	}
	head := `{"result":`
	if id != 0 {
		head = fmt.Sprintf(`{"id":%d,"result":`, id)
	}
	return line(head, result)
}

// AppendResultLine appends ResultLine(id, result) to b: a caller that keeps b between answers (the daemon, for its
// lists) neither allocates nor clears one each time.
func AppendResultLine(b []byte, id uint64, result JSONAppender) []byte {
	b = append(b, `{`...)
	if id != 0 {
		b = strconv.AppendUint(append(b, `"id":`...), id, 10)
		b = append(b, ',')
	}
	b = result.AppendJSON(append(b, `"result":`...))
	return append(b, "}\n"...)
}

// JSONAppender is a value that encodes itself: AppendJSON appends to b exactly what json.Marshal would write for
// it. ResultLine and RequestLine take its bytes as they are (no validation): a daemon's list of 1000 processes,
// whose encoding through reflection was most of the cost of answering it, is one.
type JSONAppender interface {
	AppendJSON(b []byte) []byte
}

// line is head, v as JSON, and the closing brace and newline. Built by hand because json.Marshal of a Request or a
// Response whose RawMessage holds v already encoded validates and compacts it a second time: that was a third of
// the daemon's CPU for answering jlist with 50 apps (1.2 ms; 0.8 ms without), and a start of 50 apps encoded
// their configs twice in the CLI.
func line(head string, v any) ([]byte, error) {
	if a, ok := v.(JSONAppender); ok {
		return append(a.AppendJSON([]byte(head)), "}\n"...), nil
	}
	// Marshal, then one buffer of the exact size: an Encoder writing into a growing bytes.Buffer doubled it up to the
	// answer's size, which for jlist of 1000 apps (1 MB) was an eighth of the daemon's CPU in that call, mostly the
	// collector's.
	m, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	b := make([]byte, 0, len(head)+len(m)+2)
	b = append(b, head...)
	b = append(b, m...)
	return append(b, "}\n"...), nil
}
