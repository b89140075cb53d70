package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/gpmd/gpm/config"
)

// pm2NoOps are PM2 options that act on Node, pmx or pm2.io only. A PM2 user's scripts pass them; gpm accepts them
// on any command, does nothing, and says so once.
var pm2NoOps = map[string]bool{
	"--no-pmx": true, "--no-automation": true, "--no-vizion": true, "--source-map-support": true,
	"--disable-source-map-support": true, "--trace": true, "--disable-trace": true, "--deep-monitoring": true,
	"-w": true, "--write": true,
}

// globalOptions removes from args (before "--": what follows is the app's) the options PM2 accepts on every
// command: -s/--silent (nothing on stdout), --no-color (gpm writes no colors anyway), and pm2NoOps, of which it
// prints one notice.
func (c *cli) globalOptions(args []string) []string {
	out := make([]string, 0, len(args))
	var ignored []string
	for i, a := range args {
		if a == "--" {
			out = append(out, args[i:]...)
			break
		}
		switch {
		case a == "-s" || a == "--silent":
			c.stdout = io.Discard
		case a == "--no-color":
		case pm2NoOps[a]:
			ignored = append(ignored, a)
		default:
			out = append(out, a)
		}
	}
	if len(ignored) > 0 {
		fmt.Fprintf(c.stderr, "gpm: %s: PM2 options for Node, pmx or pm2.io; they mean nothing to gpm and are ignored\n",
			strings.Join(ignored, ", "))
	}
	return out
}

// optionalValue is a flag whose value is optional, as PM2 (commander) parses it: `-l FILE` and `--log FILE` take
// the next word as the value when takes says so; otherwise the flag stands alone (pflag's NoOptDefVal). pflag only
// knows `--log=FILE`, so joinOptional rewrites the two-word form into it before parsing.
type optionalValue struct {
	long, short string
	takes       func(word string) bool
}

// joinOptional rewrites, before "--", `FLAG WORD` into `--long=WORD` for each optional-value flag whose takes
// accepts WORD.
func joinOptional(args []string, flags []optionalValue) []string {
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return append(out, args[i:]...)
		}
		out = append(out, a)
		for _, f := range flags {
			if (a == "--"+f.long || (f.short != "" && a == "-"+f.short)) && i+1 < len(args) && takes(args[i+1], f) {
				out[len(out)-1] = "--" + f.long + "=" + args[i+1]
				i++
				break
			}
		}
	}
	return out
}

func takes(word string, f optionalValue) bool {
	return word != "" && word != "--" && !strings.HasPrefix(word, "-") && f.takes(word)
}

// notScript is PM2's test for the word after an optional-value flag: a word that names an existing script (a file
// with an interpreter's extension, an executable file, or a process file) is the thing to start, not the value.
func (c *cli) notScript(word string) bool {
	if config.IsProcessFile(word) {
		return false
	}
	st, err := os.Stat(c.abs(word))
	if err != nil || st.IsDir() {
		return true
	}
	return config.DefaultInterpreter(word) == "" && st.Mode()&0o111 == 0
}

// watchPaths says whether word is --watch's value: a list of paths (a comma in it, or a path that exists and is
// not a script). Anything else after a bare --watch is a target: `gpm restart --watch api`.
func (c *cli) watchPaths(word string) bool {
	if strings.Contains(word, ",") {
		return true
	}
	_, err := os.Stat(c.abs(word))
	return err == nil && c.notScript(word)
}

// startOptional are the optional-value flags of the start family.
func (c *cli) startOptional() []optionalValue {
	return []optionalValue{
		{long: "log", short: "l", takes: c.notScript},
		{long: "watch", takes: c.watchPaths},
		{long: "filter-env", takes: c.notScript},
	}
}
