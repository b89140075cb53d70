package config

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ParseSize parses a memory size as PM2's max_memory_restart accepts it: a byte count ("1024") or a number with a
// 1024-based unit K, M, G or T ("512K", "200M", "1.5G"). Units are case-insensitive and may be followed by "B" or
// "iB" ("200MB", "1GiB"). It returns an error for anything else, for negative sizes and on overflow.
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	u := strings.ToUpper(t)
	switch {
	case len(u) > 2 && strings.HasSuffix(u, "IB") && strings.ContainsRune("KMGT", rune(u[len(u)-3])):
		u = u[:len(u)-2] // "1GiB"
	case strings.HasSuffix(u, "B"):
		u = u[:len(u)-1] // "200MB", "1024B"
	}
	mult := 1.0
	if u != "" {
		switch u[len(u)-1] {
		case 'K':
			mult = 1 << 10
		case 'M':
			mult = 1 << 20
		case 'G':
			mult = 1 << 30
		case 'T':
			mult = 1 << 40
		}
		if mult != 1 {
			u = strings.TrimSpace(u[:len(u)-1])
		}
	}
	v, err := parseUnsignedDecimal(u)
	if err != nil {
		return 0, fmt.Errorf("invalid size %q: expected bytes or a number with K, M or G (e.g. 200M)", s)
	}
	b := v * mult
	if b >= math.MaxInt64 {
		return 0, fmt.Errorf("invalid size %q: too large", s)
	}
	return int64(b), nil
}

// ParseMillis parses a duration as PM2's files write it: milliseconds as a plain number ("1000", "1.5" rounds to 2),
// or a number with a unit ms, s, m or h ("500ms", "2s", "1.5s", "1m", "1h"). It returns an error for anything else,
// for negative values and on overflow.
func ParseMillis(s string) (Millis, error) {
	t := strings.TrimSpace(s)
	units := []struct {
		suffix string
		ms     float64
	}{{"ms", 1}, {"s", 1000}, {"m", 60 * 1000}, {"h", 60 * 60 * 1000}}
	mult := 1.0
	for _, u := range units {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.ms
			break
		}
	}
	v, err := parseUnsignedDecimal(t)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q: expected milliseconds or a number with ms, s, m or h (e.g. 2s)", s)
	}
	ms := math.Round(v * mult)
	if ms >= math.MaxInt64 {
		return 0, fmt.Errorf("invalid duration %q: too large", s)
	}
	return Millis(ms), nil
}

// parseUnsignedDecimal accepts digits with an optional fraction; no sign, exponent, hex, Inf or NaN.
func parseUnsignedDecimal(s string) (float64, error) {
	if s == "" || strings.Count(s, ".") > 1 || s == "." {
		return 0, errors.New("not a number")
	}
	for _, r := range s {
		if r != '.' && (r < '0' || r > '9') {
			return 0, errors.New("not a number")
		}
	}
	return strconv.ParseFloat(s, 64)
}

// splitArgs splits a command line the way a POSIX shell splits words, without expanding anything: blanks separate
// words, '...' is literal, "..." allows \" \\ \$ \` escapes, and a backslash outside quotes escapes the next character.
// PM2 accepts args and interpreter_args as one string; this keeps quoted arguments with spaces intact.
// SplitArgs splits a command line into words the way PM2 splits a string `args`: whitespace separates, single and
// double quotes group, a backslash escapes. No shell runs: "$HOME", globs and pipes stay literal.
func SplitArgs(s string) ([]string, error) { return splitArgs(s) }

func splitArgs(s string) ([]string, error) {
	var (
		args    []string
		cur     strings.Builder
		inWord  bool
		quote   rune
		escaped bool
	)
	for i := 0; i < len(s); {
		// raw, not r, goes into words: r is U+FFFD for a byte that is not UTF-8, and an argument is bytes
		r, size := utf8.DecodeRuneInString(s[i:])
		raw := s[i : i+size]
		i += size
		switch {
		case escaped:
			if quote == '"' && !strings.ContainsRune("\"\\$`\n", r) {
				cur.WriteRune('\\')
			}
			if r != '\n' {
				cur.WriteString(raw)
			}
			escaped = false
		case quote == '\'':
			if r == '\'' {
				quote = 0
			} else {
				cur.WriteString(raw)
			}
		case r == '\\':
			escaped, inWord = true, true
		case quote == '"':
			if r == '"' {
				quote = 0
			} else {
				cur.WriteString(raw)
			}
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case unicode.IsSpace(r):
			if inWord {
				args = append(args, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteString(raw)
			inWord = true
		}
	}
	switch {
	case quote != 0:
		return nil, fmt.Errorf("unterminated %c quote in %q", quote, s)
	case escaped:
		return nil, fmt.Errorf("trailing backslash in %q", s)
	}
	if inWord {
		args = append(args, cur.String())
	}
	return args, nil
}

// MaxCPUQuota is the largest cpu_quota, in percent of one cpu (1024 cpus): cpu.max takes any quota, so a larger
// value is a typo.
const MaxCPUQuota = 1024 * 100

// MaxTasks is the largest tasks_max: the kernel's own limit on pids (PID_MAX_LIMIT, 4M).
const MaxTasks = 1 << 22

// ParseCPUQuota parses a cpu_quota: percent of one cpu, "50%" or "50" (200% is two cpus), 1 to MaxCPUQuota.
func ParseCPUQuota(s string) (int, error) {
	t := strings.TrimSuffix(strings.TrimSpace(s), "%")
	n, err := strconv.Atoi(strings.TrimSpace(t))
	if err != nil || n < 1 || n > MaxCPUQuota {
		return 0, fmt.Errorf("must be a percentage of one cpu from 1%% to %d%% (config.MaxCPUQuota) such as \"50%%\", got %q", MaxCPUQuota, s)
	}
	return n, nil
}

// ParseTasksMax parses a tasks_max: 1 to MaxTasks processes and threads.
func ParseTasksMax(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 1 || n > MaxTasks {
		return 0, fmt.Errorf("must be a number of tasks from 1 to %d (config.MaxTasks), got %q", MaxTasks, s)
	}
	return n, nil
}
