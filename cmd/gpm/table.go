package main

import (
	"io"
	"strings"
	"text/tabwriter"
	"unicode/utf8"
)

// table lays cells out as text/tabwriter does with minwidth 0, padding 2, spaces and no flags, when every line has
// the same number of cells: each column but the last as wide as its widest cell (in runes) and 2 spaces; the last
// column as it is. Built by hand because tabwriter, which keeps each cell in a structure of its own, and a
// fmt.Fprintf for each of 1000 rows were a third of `gpm ls` (issue 13). A cell holding a byte that tabwriter
// reads as markup (a tab, newline, vertical tab, form feed, or its escape byte 0xff: an app's STATUS= text may
// hold any) sends the whole table through tabwriter instead, so that the output stays the same.
type table struct {
	cols   int
	buf    []byte // the cells' bytes, one after another
	ends   []int  // where each cell ends in buf
	width  []int  // of each column, in runes
	markup bool   // a cell holds markup
}

func newTable(cols, rows int) *table {
	return &table{cols: cols, buf: make([]byte, 0, rows*cols*8), ends: make([]int, 0, rows*cols), width: make([]int, cols)}
}

// cell adds a cell holding s.
func (t *table) cell(s string) {
	t.buf = append(t.buf, s...)
	t.end()
}

// end closes the cell whose bytes were appended to t.buf since the previous one.
func (t *table) end() {
	start := 0
	if len(t.ends) > 0 {
		start = t.ends[len(t.ends)-1]
	}
	cell := t.buf[start:]
	for _, c := range cell {
		if c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == tabwriter.Escape {
			t.markup = true
		}
	}
	if w, col := runes(cell), len(t.ends)%t.cols; w > t.width[col] {
		t.width[col] = w
	}
	t.ends = append(t.ends, len(t.buf))
}

// writeTo writes the table to w in one write.
func (t *table) writeTo(w io.Writer) error {
	if t.markup {
		return t.writeTabbed(w)
	}
	out := make([]byte, 0, len(t.buf)+len(t.ends)*3)
	start := 0
	for i, end := range t.ends {
		cell := t.buf[start:end]
		out = append(out, cell...)
		if col := i % t.cols; col == t.cols-1 {
			out = append(out, '\n')
		} else {
			out = append(out, spaces(t.width[col]+2-runes(cell))...)
		}
		start = end
	}
	_, err := w.Write(out)
	return err
}

// writeTabbed writes the table through tabwriter.
func (t *table) writeTabbed(w io.Writer) error {
	var sb strings.Builder
	tw := tabwriter.NewWriter(&sb, 0, 0, 2, ' ', 0)
	start := 0
	for i, end := range t.ends {
		sep := "\t"
		if i%t.cols == t.cols-1 {
			sep = "\n"
		}
		tw.Write(append(t.buf[start:end:end], sep...))
		start = end
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := io.WriteString(w, sb.String())
	return err
}

// runes is the width tabwriter gives cell: its count of runes (an invalid byte counts as one).
func runes(cell []byte) int {
	for _, c := range cell {
		if c >= utf8.RuneSelf {
			return utf8.RuneCount(cell)
		}
	}
	return len(cell)
}

const blanks = "                                                                "

// spaces returns n spaces.
func spaces(n int) string {
	if n <= len(blanks) {
		return blanks[:n]
	}
	return strings.Repeat(" ", n)
}
