package logfile

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/gpmd/gpm/platform/safefs"
)

// tailBlock is how much Tail reads at a time, backwards and forwards.
const tailBlock = 64 << 10

// MaxTailLine bounds one line that Tail hands over. An app's line is written whole however long it is (in pieces
// of about maxLine); a line longer than MaxTailLine is cut there, with TailCutMark appended, so that one huge line
// cannot make the daemon hold it whole.
const MaxTailLine = 1 << 20

// TailCutMark ends a line that Tail cut at MaxTailLine.
const TailCutMark = " [gpm: line cut at logfile.MaxTailLine bytes]"

// Tail calls fn with each of the last n lines of the file at path, oldest first, without their newline; the line is
// only valid during the call. A missing file, n <= 0 or an empty path have no lines. It stops with ctx's error when
// ctx ends (the client went away), and with fn's error when fn fails. Lines written after Tail opened the file are
// not included. See TailReader.
//
// The file is opened through safefs for the app's uid owner (-1: the daemon's own), as Open opens it for writing:
// the daemon may be root and the app's user may have put a link to another file (or a FIFO, whose open(2) would
// wait for a writer for ever) in place of the log; such a path fails with an error wrapping safefs.ErrUnsafe.
func Tail(ctx context.Context, path string, owner, n int, fn func(line []byte) error) error {
	if n <= 0 || path == "" {
		return nil
	}
	f, err := safefs.OpenFile(path, os.O_RDONLY, 0, owner)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("tail: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("tail: %w", err)
	}
	if err := TailReader(ctx, f, st.Size(), n, fn); err != nil {
		return fmt.Errorf("tail %s: %w", path, err)
	}
	return nil
}

// TailReader is Tail of the first size bytes of r. It reads the last n lines twice and nothing else: once backwards
// in blocks, counting newlines, to find where they start, then forwards, handing each line over as it goes. Time is
// linear in what it returns and memory is bounded (a block, and MaxTailLine), however large n and the file are.
// (It used to prepend each block to what it had read and count the newlines of the whole again: 40 MB took 136 s.)
func TailReader(ctx context.Context, r io.ReaderAt, size int64, n int, fn func(line []byte) error) error {
	if n <= 0 || size <= 0 {
		return nil
	}
	start, err := tailStart(ctx, r, size, n)
	if err != nil {
		return err
	}
	br := bufio.NewReaderSize(io.NewSectionReader(r, start, size-start), tailBlock)
	var long []byte // a line longer than the buffer, its first MaxTailLine bytes
	total := 0      // the length of that line
	for i := 0; ; i++ {
		if i%1024 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		chunk, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			total += len(chunk)
			long = appendCapped(long, chunk)
			if ctx.Err() != nil {
				return ctx.Err()
			}
			continue
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		line := bytes.TrimSuffix(chunk, []byte{'\n'})
		if total > 0 {
			total += len(line)
			line = appendCapped(long, line)
			if total > MaxTailLine {
				line = append(line, TailCutMark...)
			}
			long, total = line[:0], 0
		}
		if len(line) > 0 || err == nil {
			if ferr := fn(line); ferr != nil {
				return ferr
			}
		}
		if err != nil {
			return nil // EOF
		}
	}
}

// appendCapped appends to line what fits of p within MaxTailLine.
func appendCapped(line, p []byte) []byte {
	return append(line, p[:min(len(p), max(0, MaxTailLine-len(line)))]...)
}

// tailStart returns the offset of the first of the last n lines of r's first size bytes: just after the n-th newline
// from the end, not counting the newline that ends the last line.
func tailStart(ctx context.Context, r io.ReaderAt, size int64, n int) (int64, error) {
	buf := make([]byte, tailBlock)
	end := size
	// The last byte is usually the newline of the last line: it does not start a line after it.
	last := make([]byte, 1)
	if _, err := r.ReadAt(last, size-1); err != nil && !errors.Is(err, io.EOF) {
		return 0, err
	}
	if last[0] == '\n' {
		end--
	}
	seen := 0
	for pos := end; pos > 0; {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		k := min(int64(tailBlock), pos)
		pos -= k
		b := buf[:k]
		if _, err := r.ReadAt(b, pos); err != nil && !errors.Is(err, io.EOF) {
			return 0, err
		}
		for i := len(b); ; {
			i = bytes.LastIndexByte(b[:i], '\n')
			if i < 0 {
				break
			}
			if seen++; seen == n {
				return pos + int64(i) + 1, nil
			}
		}
	}
	return 0, nil
}
