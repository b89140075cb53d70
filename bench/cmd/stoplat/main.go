// Command stoplat measures how long a gpm daemon takes to stop an app whose processes ignore the kill signal, so
// that the stop needs the SIGKILL at kill_timeout: the time of the stop call (one connection, opened before, so no
// CLI start-up is in the figure) minus kill_timeout.
//
//	stoplat -home $GPM_HOME -script bench/apps/fifty.sh -kill-timeout 1s -runs 5
//
// It prints one JSON object: every run's overhead beyond kill_timeout in milliseconds and their median.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gpmd/gpm/api"
	"github.com/gpmd/gpm/client"
	"github.com/gpmd/gpm/config"
)

type result struct {
	Runs     []float64 `json:"over_kill_timeout_ms"`
	MedianMS float64   `json:"median_ms"`
}

func main() {
	home := flag.String("home", os.Getenv(api.HomeEnv), "GPM_HOME of the daemon")
	script := flag.String("script", "", "the app: it prints \"started\" once its descendants run")
	kt := flag.Duration("kill-timeout", time.Second, "the app's kill_timeout")
	runs := flag.Int("runs", 5, "measured runs")
	desc := flag.Int("descendants", 50, "passed to the app as N: how many descendants it forks")
	flag.Parse()
	if err := run(*home, *script, *kt, *runs, *desc); err != nil {
		fmt.Fprintln(os.Stderr, "stoplat:", err)
		os.Exit(1)
	}
}

func run(home, script string, kt time.Duration, runs, desc int) error {
	ctx := context.Background()
	c, err := client.Dial(ctx, home)
	if err != nil {
		return err
	}
	defer c.Close()
	abs, err := filepath.Abs(script)
	if err != nil {
		return err
	}
	var res result
	for range runs {
		a := config.New()
		a.Name, a.Script, a.Cwd, a.KillTimeout = "stoplat", abs, filepath.Dir(abs), config.Millis(kt.Milliseconds())
		a.Env = map[string]string{"N": strconv.Itoa(desc)}
		ps, err := c.Start(ctx, a)
		if err != nil {
			return err
		}
		if len(ps) != 1 || ps[0].OutLog == "" {
			return fmt.Errorf("start: %+v", ps)
		}
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			if b, _ := os.ReadFile(ps[0].OutLog); strings.Contains(string(b), "started") {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s never said started", abs)
			}
		}
		t0 := time.Now()
		if _, err := c.Stop(ctx, "stoplat"); err != nil {
			return err
		}
		res.Runs = append(res.Runs, float64((time.Since(t0)-kt).Microseconds())/1000)
		if _, err := c.Delete(ctx, "stoplat"); err != nil {
			return err
		}
		os.Remove(ps[0].OutLog)
	}
	s := slices.Clone(res.Runs)
	slices.Sort(s)
	res.MedianMS = s[len(s)/2]
	return json.NewEncoder(os.Stdout).Encode(res)
}
