package config

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// FuzzParseMillis: an error, or a non-negative count of milliseconds that reads back the same in every unit
// ParseMillis writes (a plain number, "Nms").
func FuzzParseMillis(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseMillis(s)
		if err != nil {
			return
		}
		if v < 0 {
			t.Fatalf("ParseMillis(%q) = %d: negative", s, v)
		}
		if strings.HasPrefix(strings.TrimSpace(s), "-") {
			t.Fatalf("ParseMillis(%q) = %d: accepted a sign", s, v)
		}
		for _, again := range []string{strconv.FormatInt(int64(v), 10), strconv.FormatInt(int64(v), 10) + "ms"} {
			if w, err := ParseMillis(again); err != nil || w != v {
				t.Fatalf("ParseMillis(%q) = %d, but ParseMillis(%q) = %d, %v", s, v, again, w, err)
			}
		}
	})
}

// FuzzParseSize: an error, or a non-negative byte count that reads back the same as bytes and, when it is whole
// kibibytes, as "NK".
func FuzzParseSize(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseSize(s)
		if err != nil {
			return
		}
		if v < 0 {
			t.Fatalf("ParseSize(%q) = %d: negative", s, v)
		}
		again := []string{strconv.FormatInt(v, 10), strconv.FormatInt(v, 10) + "B"}
		if v%1024 == 0 {
			again = append(again, strconv.FormatInt(v/1024, 10)+"K", strconv.FormatInt(v/1024, 10)+"KiB")
		}
		for _, a := range again {
			if w, err := ParseSize(a); err != nil || w != v {
				t.Fatalf("ParseSize(%q) = %d, but ParseSize(%q) = %d, %v", s, v, a, w, err)
			}
		}
	})
}

// FuzzSplitArgs: an error (an open quote, a trailing backslash), or words that, quoted again, split to the same
// words; a line without quotes or backslashes splits exactly where it has blanks, keeping every byte.
func FuzzSplitArgs(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		args, err := SplitArgs(s)
		if err != nil {
			if !strings.ContainsAny(s, `'"\`) {
				t.Fatalf("SplitArgs(%q): %v, without a quote or a backslash", s, err)
			}
			return
		}
		if !strings.ContainsAny(s, `'"\`) {
			if want := strings.FieldsFunc(s, unicode.IsSpace); !equalWords(args, want) {
				t.Fatalf("SplitArgs(%q) = %q, want %q", s, args, want)
			}
		}
		quoted := make([]string, len(args))
		for i, a := range args {
			quoted[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		line := strings.Join(quoted, " ")
		again, err := SplitArgs(line)
		if err != nil || !equalWords(again, args) {
			t.Fatalf("SplitArgs(%q) = %q; quoted as %q it splits to %q, %v", s, args, line, again, err)
		}
	})
}

// equalWords compares word lists, nil and empty alike.
func equalWords(a, b []string) bool { return len(a) == 0 && len(b) == 0 || slices.Equal(a, b) }

// Found by FuzzSplitArgs: a byte that is not UTF-8 (a Latin-1 file name on the command line) became U+FFFD, so
// the app got another argument than the one written.
func TestSplitArgsKeepsBytes_Fuzz(t *testing.T) {
	got, err := SplitArgs("caf\xe9 'x\xff y' \"\x82\" \\\x82")
	if want := []string{"caf\xe9", "x\xff y", "\x82", "\x82"}; err != nil || !slices.Equal(got, want) {
		t.Fatalf("got %q, %v; want %q", got, err, want)
	}
}
