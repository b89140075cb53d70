package client

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// errWrite marks a failure of the writer CopyResult copies to, which ends the call at once (nothing is retried).
var errWrite = errors.New("write the result")

// resultCopier reads one reply line for CopyResult. When the line begins as api.ResultLine writes a result that
// is an array or an object, `{"id":ID,"result":[` or `{`, the rest goes to w as it arrives, except the envelope's
// closing brace and the newline, which are held back until they are seen: ResultLine puts the result last, so they
// end it. Any other line (an error, a scalar, another encoding) is kept whole and decoded by finish.
type resultCopier struct {
	w      *bufio.Writer
	n      int64
	line   []byte // the line so far, while it is not streamed
	stream bool   // the head matched: the rest of the line goes to w
	open   byte   // the result's opening bracket
	held   []byte // the last byte of the previous fragment, not written yet (it may be the closing brace)
	last   byte   // the last byte of the result written so far
	done   bool   // the whole line was read
}

// read reads fragments of the reply to request id until the line's end (nil) or an error of the connection (the
// caller may call it again after a deadline) or of w (errWrite).
func (rc *resultCopier) read(r *bufio.Reader, id uint64) error {
	for !rc.done {
		frag, err := r.ReadSlice('\n')
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			// What came before the error is consumed: keep it for the next call.
			if werr := rc.take(frag, id, false); werr != nil {
				return werr
			}
			return err
		}
		if werr := rc.take(frag, id, err == nil); werr != nil {
			return werr
		}
	}
	return nil
}

// take handles one fragment of the line; final when it ends the line.
func (rc *resultCopier) take(frag []byte, id uint64, final bool) error {
	if final {
		rc.done = true
	}
	if !rc.stream {
		rc.line = append(rc.line, frag...)
		head := resultHead(id)
		if len(rc.line) <= len(head) || !bytes.HasPrefix(rc.line, head) {
			return nil // undecided, or not a streamed result: finish decodes it
		}
		if open := rc.line[len(head)]; open != '[' && open != '{' {
			return nil
		}
		rc.stream, rc.open = true, rc.line[len(head)]
		frag, rc.line = rc.line[len(head):], nil
	}
	return rc.emit(frag, final)
}

// emit writes a fragment of the result, keeping its last byte back: the line's closing brace may be the last byte
// of one fragment and its newline the first of the next.
func (rc *resultCopier) emit(frag []byte, final bool) error {
	if final {
		frag = frag[:len(frag)-1] // the newline
	}
	if len(frag) == 0 {
		return nil
	}
	if err := rc.write(rc.held); err != nil {
		return err
	}
	if err := rc.write(frag[:len(frag)-1]); err != nil {
		return err
	}
	rc.held = append(rc.held[:0], frag[len(frag)-1])
	return nil
}

func (rc *resultCopier) write(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	rc.last = b[len(b)-1]
	n, err := rc.w.Write(b)
	rc.n += int64(n)
	if err != nil {
		return fmt.Errorf("%w: %w", errWrite, err)
	}
	return nil
}

// finish completes a read line: a streamed result must have ended with the envelope's brace after its own closing
// bracket; any other line is decoded, and its result, unless null or absent, written to w.
func (rc *resultCopier) finish(method string, id uint64) error {
	if rc.stream {
		closing := byte(']')
		if rc.open == '{' {
			closing = '}'
		}
		if len(rc.held) != 1 || rc.held[0] != '}' || rc.last != closing {
			return fmt.Errorf("%s: decode reply: the result does not end as it began (%q)", method, rc.open)
		}
		return rc.flush()
	}
	var raw json.RawMessage
	apiErr, err := decodeReply(rc.line, id, &raw)
	if apiErr != nil {
		return apiErr
	}
	if err != nil {
		return fmt.Errorf("%s: decode reply: %w", method, err)
	}
	if len(raw) > 0 && string(raw) != "null" {
		if err := rc.write(raw); err != nil {
			return err
		}
	}
	return rc.flush()
}

func (rc *resultCopier) flush() error {
	if err := rc.w.Flush(); err != nil {
		return fmt.Errorf("%w: %w", errWrite, err)
	}
	return nil
}

// resultHead is how api.ResultLine begins the answer to request id: `{"id":ID,"result":`.
func resultHead(id uint64) []byte {
	return append(strconv.AppendUint([]byte(`{"id":`), id, 10), `,"result":`...)
}
