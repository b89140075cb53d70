package main

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/gpmd/gpm/console/snapshot"
)

// tabbedList is printList as it was written with tabwriter and fmt: the reference the hand-made table must match.
func tabbedList(list []row) string {
	var b bytes.Buffer
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "id\tname\tnamespace\tmode\tpid\tuptime\t↺\tstatus\tcpu\tmem")
	for _, p := range list {
		pid, uptime := "0", "0"
		if p.PID != 0 {
			pid = strconv.Itoa(p.PID)
			uptime = snapshot.HumanDuration(time.Duration(p.UptimeMS) * time.Millisecond)
		}
		status := p.Status
		if p.StatusText != "" {
			status += " (" + truncate(p.StatusText, 32) + ")"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%.1f%%\t%s\n", p.ID, p.Name, p.Namespace, p.Mode, pid,
			uptime, p.Restarts, status, p.CPU, humanBytes(p.Memory))
	}
	tw.Flush()
	return b.String()
}

// printList writes, byte for byte, what tabwriter and fmt wrote: wide and narrow columns, runes of several bytes,
// invalid UTF-8, status texts holding tabwriter's markup (tab, newline, form feed, its escape byte), odd floats.
func TestPrintListAsTabwriter(t *testing.T) {
	pieces := []string{"", "a", "web", "api-server-1", "é", "日本語", "😀", "\xff", "\xe2\x80", "\t", "\n", "\v", "\f",
		"\r", " ", "%", "%d", "(", "…", strings.Repeat("x", 40)}
	rnd := rand.New(rand.NewPCG(5, 6))
	str := func(n int) string {
		var sb strings.Builder
		for range rnd.IntN(n) {
			sb.WriteString(pieces[rnd.IntN(len(pieces))])
		}
		return sb.String()
	}
	cpus := []float64{0, 0.04, 0.05, 0.15, 0.25, 1, 99.95, 100, 1234.5678, math.Copysign(0, -1), math.NaN(), math.Inf(1), 1e21}
	for round := range 300 {
		markup := round%3 == 0
		var list []row
		for range rnd.IntN(40) {
			p := row{ID: rnd.IntN(100000), Name: str(3), Namespace: str(2), PID: rnd.IntN(3) * rnd.IntN(1<<22),
				Status: str(2), Restarts: rnd.IntN(2) * rnd.IntN(1<<20), Mode: str(2), UptimeMS: rnd.Int64N(1 << 40),
				CPU: cpus[rnd.IntN(len(cpus))], Memory: rnd.Uint64() >> rnd.IntN(64), StatusText: str(4)}
			if !markup {
				p.Name, p.Namespace, p.Status, p.Mode, p.StatusText = clean(p.Name), clean(p.Namespace), clean(p.Status), clean(p.Mode), clean(p.StatusText)
			}
			list = append(list, p)
		}
		var got bytes.Buffer
		(&cli{stdout: &got}).printList(list)
		if want := tabbedList(list); got.String() != want {
			t.Fatalf("round %d (%d rows):\n got %q\nwant %q", round, len(list), got.String(), want)
		}
	}
}

// clean takes tabwriter's markup out of s.
func clean(s string) string {
	return strings.NewReplacer("\t", "T", "\n", "N", "\v", "V", "\f", "F", "\xff", "?").Replace(s)
}
