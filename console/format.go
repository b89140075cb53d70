package console

import (
	"math"
	"strings"

	"github.com/charmbracelet/x/ansi"

	"github.com/gpmd/gpm/console/snapshot"
)

// sparkBlocks are the eight heights of a sparkline cell, lowest first.
var sparkBlocks = []rune("▁▂▃▄▅▆▇█")

// sparkline draws the last width values of vals as one row of block characters: lo and below is the lowest
// block, hi and above the full one. When hi <= lo (a flat series) every value above zero is a half block. Fewer
// values than width are right-aligned, so the newest value is always in the last cell; width <= 0 draws nothing.
func sparkline(vals []float64, width int, lo, hi float64) string {
	if width <= 0 {
		return ""
	}
	if len(vals) > width {
		vals = vals[len(vals)-width:]
	}
	var b strings.Builder
	b.Grow(width * 3)
	for range width - len(vals) {
		b.WriteByte(' ')
	}
	top := len(sparkBlocks) - 1
	for _, v := range vals {
		i := 0
		switch {
		case hi <= lo:
			if v > 0 {
				i = top / 2
			}
		case v > lo:
			i = int(math.Round((v - lo) / (hi - lo) * float64(top)))
		}
		b.WriteRune(sparkBlocks[min(max(i, 0), top)])
	}
	return b.String()
}

// cpuScale is the range of a cpu sparkline: from zero to the highest value drawn, at least 10 % of a cpu, so that
// the noise of an idle app (0.1 %) stays at the bottom.
func cpuScale(vals []float64, width int) (lo, hi float64) {
	return 0, peak(last(vals, width), 10)
}

// memScale is the range of a memory sparkline: from the lowest to the highest value drawn, since what matters is
// how memory moves (a leak, a drop after a restart), not its size, which the column shows. A range under 2 % of the
// value is drawn flat.
func memScale(vals []float64, width int) (lo, hi float64) {
	vals = last(vals, width)
	if len(vals) == 0 {
		return 0, 0
	}
	lo, hi = vals[0], vals[0]
	for _, v := range vals {
		lo, hi = min(lo, v), max(hi, v)
	}
	if hi-lo < hi/50 {
		return hi, hi
	}
	return lo, hi
}

// last is the last n values of vals.
func last(vals []float64, n int) []float64 {
	if len(vals) > n {
		return vals[len(vals)-n:]
	}
	return vals
}

// peak is the largest of vals, at least floor.
func peak(vals []float64, floor float64) float64 {
	top := floor
	for _, v := range vals {
		top = max(top, v)
	}
	return top
}

// fit pads or cuts s to exactly w terminal cells (an ellipsis marks a cut). Wide characters count twice.
func fit(s string, w int) string {
	if w <= 0 {
		return ""
	}
	n := ansi.StringWidth(s)
	if n > w {
		s = ansi.Truncate(s, w, "…")
		n = ansi.StringWidth(s)
	}
	if n < w {
		s += strings.Repeat(" ", w-n)
	}
	return s
}

// fitRight is fit with the padding on the left, for numbers.
func fitRight(s string, w int) string {
	if n := ansi.StringWidth(s); n < w {
		return strings.Repeat(" ", w-n) + s
	}
	return fit(s, w)
}

// clean makes a log line safe to draw: an app's own escape sequences (colours, cursor moves, a clear screen) would
// otherwise act on the console's screen, and tabs and control characters would break its columns. Whole escape
// sequences go here; snapshot.Clean drops what is left of control characters.
func clean(s string) string { return snapshot.Clean(ansi.Strip(s)) }
