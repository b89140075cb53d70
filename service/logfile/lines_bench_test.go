package logfile

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkLinesWrite: a bulk writer's 64 KiB reads of 100-byte lines, cut and written (to a File that discards, so
// that the figure is the cutting's alone), with a subscriber's emit that does nothing.
func BenchmarkLinesWrite(b *testing.B) {
	data := numberedLines(1 << 20)
	l := NewLines([]*File{{}}, Format{}, func(Line) {}, nil)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		for off := 0; off < len(data); off += 64 << 10 {
			l.Write(data[off:min(off+64<<10, len(data))])
		}
	}
}

// numberedLines is at least size bytes of whole 100-byte lines, as bench/apps/chatty.sh writes them.
func numberedLines(size int) []byte {
	var sb strings.Builder
	for i := 0; sb.Len() < size; i++ {
		fmt.Fprintf(&sb, "%08d %s\n", i, strings.Repeat("0", 90))
	}
	return []byte(sb.String())
}
