package main

import (
	"bytes"
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// decodeRows decodes a list of rows as json.Unmarshal would, for the JSON the daemon writes: no whitespace, strings
// without escapes, numbers, the members of row only (in any order). Anything else (an escape, null, a member of
// another name, as an older daemon sends whole records) makes it hand the whole list to json.Unmarshal: ls of 1000
// apps spent a sixth of its time in encoding/json's reflection (TestDecodeRows compares the two).
func decodeRows(b []byte) ([]row, error) {
	if len(b) == 0 {
		return nil, nil // no result, as Call leaves it
	}
	if list, ok := scanRows(b); ok {
		return list, nil
	}
	var list []row
	err := json.Unmarshal(b, &list)
	return list, err
}

// scanRows is decodeRows's own decoder; ok is false when b is not in the form it reads.
func scanRows(b []byte) (list []row, ok bool) {
	s := rowScanner{b: b}
	if !s.byte('[') {
		return nil, false
	}
	list = make([]row, 0, bytes.Count(b, []byte(`{"`)))
	if s.byte(']') {
		return list, s.end()
	}
	for {
		var r row
		if !s.row(&r) {
			return nil, false
		}
		list = append(list, r)
		if s.byte(']') {
			return list, s.end()
		}
		if !s.byte(',') {
			return nil, false
		}
	}
}

type rowScanner struct {
	b []byte
	i int
	// strs holds the strings made so far: namespaces, modes and statuses repeat.
	strs map[string]string
}

func (s *rowScanner) end() bool { return s.i == len(s.b) }

// byte consumes c when it comes next.
func (s *rowScanner) byte(c byte) bool {
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// row reads one object into r.
func (s *rowScanner) row(r *row) bool {
	if !s.byte('{') {
		return false
	}
	if s.byte('}') {
		return true
	}
	for {
		key, ok := s.rawString()
		if !ok || !s.byte(':') || !s.member(r, key) {
			return false
		}
		if s.byte('}') {
			return true
		}
		if !s.byte(',') {
			return false
		}
	}
}

// member reads the value of the member named key into r.
func (s *rowScanner) member(r *row, key []byte) bool {
	switch string(key) {
	case "id":
		return s.int(&r.ID)
	case "name":
		return s.str(&r.Name)
	case "namespace":
		return s.str(&r.Namespace)
	case "pid":
		return s.int(&r.PID)
	case "status":
		return s.str(&r.Status)
	case "restarts":
		return s.int(&r.Restarts)
	case "mode":
		return s.str(&r.Mode)
	case "uptime_ms":
		n, ok := s.number()
		if !ok {
			return false
		}
		v, err := strconv.ParseInt(n, 10, 64)
		r.UptimeMS = v
		return err == nil
	case "cpu":
		n, ok := s.number()
		if !ok {
			return false
		}
		v, err := strconv.ParseFloat(n, 64)
		r.CPU = v
		return err == nil
	case "memory":
		n, ok := s.number()
		if !ok {
			return false
		}
		v, err := strconv.ParseUint(n, 10, 64)
		r.Memory = v
		return err == nil
	case "status_text":
		return s.str(&r.StatusText)
	}
	return false
}

func (s *rowScanner) int(v *int) bool {
	n, ok := s.number()
	if !ok {
		return false
	}
	x, err := strconv.ParseInt(n, 10, strconv.IntSize)
	*v = int(x)
	return err == nil
}

// number returns the next JSON number as written: an optional minus, then digits without a leading zero, an
// optional fraction and exponent.
func (s *rowScanner) number() (string, bool) {
	start := s.i
	s.byte('-')
	digits := s.digits()
	if digits == 0 || digits > 1 && s.b[s.i-digits] == '0' {
		return "", false
	}
	if s.byte('.') && s.digits() == 0 {
		return "", false
	}
	if s.byte('e') || s.byte('E') {
		if !s.byte('+') {
			s.byte('-')
		}
		if s.digits() == 0 {
			return "", false
		}
	}
	return string(s.b[start:s.i]), true
}

func (s *rowScanner) digits() int {
	n := 0
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		s.i++
		n++
	}
	return n
}

// rawString returns the bytes of the next string, which must hold no escape, control character or invalid UTF-8
// (json.Unmarshal would change them).
func (s *rowScanner) rawString() ([]byte, bool) {
	if !s.byte('"') {
		return nil, false
	}
	start := s.i
	for s.i < len(s.b) {
		switch c := s.b[s.i]; {
		case c == '"':
			v := s.b[start:s.i]
			s.i++
			return v, utf8.Valid(v)
		case c == '\\' || c < 0x20:
			return nil, false
		}
		s.i++
	}
	return nil, false
}

func (s *rowScanner) str(v *string) bool {
	b, ok := s.rawString()
	if !ok {
		return false
	}
	if str, ok := s.strs[string(b)]; ok {
		*v = str
		return true
	}
	if s.strs == nil {
		s.strs = map[string]string{}
	}
	*v = string(b)
	if len(s.strs) < 64 {
		s.strs[*v] = *v
	}
	return true
}
