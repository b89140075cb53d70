package snapshot

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gpmd/gpm/api"
)

// PrintTable writes the table once, without colours or escape codes: `gpm monit --once`, for scripts and dumb
// terminals. It returns the first write error.
func PrintTable(w io.Writer, host Host, hostErr error, procs []api.Process, now time.Time) error {
	var b strings.Builder
	if hostErr != nil {
		fmt.Fprintf(&b, "%v\n", hostErr)
	} else {
		fmt.Fprintf(&b, "%s · %d procs\n", host, len(procs))
	}
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "id\tname\tnamespace\tstatus\tcpu\tmem\t↺\tuptime")
	for i := range procs {
		p := &procs[i]
		up := "0"
		if p.PID != 0 && p.StartedAt != nil {
			up = HumanDuration(max(now.Sub(*p.StartedAt), 0))
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%.1f%%\t%s\t%d\t%s\n", p.ID, Clean(p.Name), Clean(p.Namespace), p.Status, p.CPU,
			HumanBytes(p.Memory), p.Restarts, up)
	}
	tw.Flush()
	_, err := io.WriteString(w, b.String())
	return err
}

// HumanBytes is b as the console shows memory: one decimal, binary units.
func HumanBytes(b uint64) string {
	switch {
	case b >= 1<<30:
		return fmt.Sprintf("%.1fG", float64(b)/(1<<30))
	case b >= 1<<20:
		return fmt.Sprintf("%.1fM", float64(b)/(1<<20))
	case b >= 1<<10:
		return fmt.Sprintf("%.1fK", float64(b)/(1<<10))
	}
	return strconv.FormatUint(b, 10) + "B"
}

// HumanDuration is an uptime in its largest whole unit, as `gpm ls` shows it.
func HumanDuration(d time.Duration) string {
	switch {
	case d < time.Minute:
		return strconv.Itoa(int(d.Seconds())) + "s"
	case d < time.Hour:
		return strconv.Itoa(int(d.Minutes())) + "m"
	case d < 48*time.Hour:
		return strconv.Itoa(int(d.Hours())) + "h"
	}
	return strconv.Itoa(int(d.Hours()/24)) + "D"
}

// Clean drops the control characters of s (an escape sequence loses its ESC and is left as harmless text): a name
// or a line from an app must not move the cursor or clear the screen of whoever reads the table.
func Clean(s string) string {
	if strings.IndexFunc(s, isControl) < 0 {
		return s
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\t':
			return ' '
		case isControl(r):
			return -1
		}
		return r
	}, s)
}

func isControl(r rune) bool { return r < ' ' || r == 0x7f || r >= 0x80 && r < 0xa0 }
