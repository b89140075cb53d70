package logfile

import (
	"bytes"
	"fmt"
	"io"
	"os"
)

// Tail returns the last n lines of the file at path, oldest first. A missing file has no lines.
func Tail(path string, n int) ([]string, error) {
	if n <= 0 || path == "" {
		return nil, nil
	}
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("tail: %w", err)
	}
	defer f.Close()
	end, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return nil, fmt.Errorf("tail %s: %w", path, err)
	}
	// Read backwards in blocks until n+1 newlines are seen (the last byte is usually a newline itself).
	const block = 16 << 10
	var data []byte
	pos := end
	for pos > 0 && bytes.Count(data, []byte{'\n'}) <= n {
		size := int64(block)
		if pos < size {
			size = pos
		}
		pos -= size
		buf := make([]byte, size)
		if _, err := f.ReadAt(buf, pos); err != nil && err != io.EOF {
			return nil, fmt.Errorf("tail %s: %w", path, err)
		}
		data = append(buf, data...)
	}
	data = bytes.TrimSuffix(data, []byte{'\n'})
	if len(data) == 0 {
		return nil, nil
	}
	lines := bytes.Split(data, []byte{'\n'})
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = string(l)
	}
	return out, nil
}
