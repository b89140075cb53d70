package config

import "strings"

// momentTokens maps moment.js/dayjs format tokens (PM2's log_date_format) to Go layout elements, longest token first
// so that "MMMM" is not read as "MM" "MM".
var momentTokens = []struct{ moment, goLayout string }{
	{"YYYY", "2006"}, {"YY", "06"},
	{"MMMM", "January"}, {"MMM", "Jan"}, {"MM", "01"}, {"M", "1"},
	{"DDDD", "002"}, {"DDD", "__2"}, {"DD", "02"}, {"D", "2"},
	{"dddd", "Monday"}, {"ddd", "Mon"},
	{"HH", "15"}, {"H", "15"}, // Go has no unpadded 24-hour element
	{"hh", "03"}, {"h", "3"},
	{"mm", "04"}, {"m", "4"},
	{"ss", "05"}, {"s", "5"},
	{"A", "PM"}, {"a", "pm"},
	{"ZZ", "-0700"}, {"Z", "-07:00"},
}

// GoTimeLayout converts a moment.js/dayjs format, as PM2's log_date_format takes it ("YYYY-MM-DD HH:mm:ss Z",
// "YYYY-MM-DDTHH:mm:ss", "DD/MM HH:mm:ss.SSS"), into a layout for time.Time.Format.
//
// Fractional seconds (S to SSSSSSSSS) convert only after '.' or ',', where Go can express them. The day of the week
// as a number (d: 0 is Sunday), which Go layouts cannot express, becomes WeekdayMark, which the layout's user
// replaces (service/logfile does). Other tokens without a Go equivalent (Do, dd, Q, X, x, w, ...) and [bracketed]
// text are kept literally. Go layouts have no escaping, so
// literal text that happens to spell a Go layout element (a digit, "Jan", "Mon", "PM", "MST") is formatted as that
// element; PM2 formats seen in practice contain no such text.
func GoTimeLayout(moment string) string {
	return goTimeLayout(moment)
}

// WeekdayMark stands in a layout from GoTimeLayout for the day of the week as a number, 0 (Sunday) to 6. A NUL byte:
// no format has one, and time.Format copies it as it is.
const WeekdayMark = '\x00'

func goTimeLayout(moment string) string {
	var b strings.Builder
	for i := 0; i < len(moment); {
		rest := moment[i:]
		if rest[0] == '[' {
			if end := strings.IndexByte(rest, ']'); end > 0 {
				b.WriteString(rest[1:end])
				i += end + 1
				continue
			}
		}
		if rest[0] == 'S' {
			n := len(rest) - len(strings.TrimLeft(rest, "S"))
			out := b.String()
			if n <= 9 && (strings.HasSuffix(out, ".") || strings.HasSuffix(out, ",")) {
				b.WriteString(strings.Repeat("0", n))
			} else {
				b.WriteString(rest[:n])
			}
			i += n
			continue
		}
		if strings.HasPrefix(rest, "Do") { // ordinal day ("1st"), no Go equivalent; not "D" + "o"
			b.WriteString("Do")
			i += 2
			continue
		}
		matched := false
		for _, t := range momentTokens {
			if strings.HasPrefix(rest, t.moment) {
				b.WriteString(t.goLayout)
				i += len(t.moment)
				matched = true
				break
			}
		}
		if !matched && rest[0] == 'd' {
			n := len(rest) - len(strings.TrimLeft(rest, "d"))
			if n == 1 {
				b.WriteByte(WeekdayMark)
			} else {
				b.WriteString(rest[:n]) // dd (Su, Mo, ...): no Go equivalent
			}
			i += n
			continue
		}
		if !matched {
			b.WriteByte(rest[0])
			i++
		}
	}
	return b.String()
}
