// Command restartlat measures how fast a gpm daemon brings an app back after kill -9: the time from the kill(2) to
// the moment this program receives the daemon's "online" state event that carries the new pid. It subscribes to the
// daemon's event stream once, so no polling adds to the figure.
//
//	restartlat -home $GPM_HOME -name s25 -runs 10
//
// It prints one JSON object: every run in milliseconds, their median, minimum and maximum, and the median of the
// daemon-side figure (the event's own timestamp minus the kill). Runs are spaced by -gap, longer than the default
// min_uptime of 1 s, so that the kills never count as an unstable crash loop.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/gpmd/gpm/api"
	"github.com/gpmd/gpm/client"
)

type result struct {
	Runs           []float64 `json:"runs_ms"`
	MedianMS       float64   `json:"median_ms"`
	MinMS          float64   `json:"min_ms"`
	MaxMS          float64   `json:"max_ms"`
	DaemonMedianMS float64   `json:"daemon_side_median_ms"`
	EventsFirstRun []string  `json:"events_first_run"`
}

func main() {
	home := flag.String("home", os.Getenv(api.HomeEnv), "GPM_HOME of the daemon")
	name := flag.String("name", "", "name of the app to kill (one instance)")
	runs := flag.Int("runs", 10, "measured runs (one unmeasured warm-up run comes first)")
	gap := flag.Duration("gap", 1200*time.Millisecond, "pause between runs (keep it above min_uptime)")
	timeout := flag.Duration("timeout", 5*time.Second, "give up on a run after this long")
	flag.Parse()
	if *home == "" || *name == "" || *runs < 1 {
		fmt.Fprintln(os.Stderr, "usage: restartlat -home GPM_HOME -name APP [-runs N] [-gap D]")
		os.Exit(2)
	}
	if err := run(*home, *name, *runs, *gap, *timeout); err != nil {
		fmt.Fprintln(os.Stderr, "restartlat:", err)
		os.Exit(1)
	}
}

func run(home, name string, runs int, gap, timeout time.Duration) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c, err := client.Dial(ctx, home)
	if err != nil {
		return err
	}
	defer c.Close()

	// Each event is stamped as the client hands it over, not when the channel delivers it to the measuring
	// goroutine: the hop between the two is this program's, not the daemon's (the floor's client reads its socket
	// in the goroutine that measures).
	type stamped struct {
		api.Event
		at time.Time
	}
	events := make(chan stamped, 4096)
	streamErr := make(chan error, 1)
	go func() {
		streamErr <- c.Subscribe(ctx, nil, func(e api.Event) error {
			if e.Type == api.EventState {
				events <- stamped{e, time.Now()}
			}
			return nil
		})
	}()
	// The client does not expose the stream's acknowledgement; give the subscription time to be registered. The
	// warm-up run below would time out (and be discarded) if it were not.
	time.Sleep(300 * time.Millisecond)

	find := func() (id, pid int, err error) {
		list, err := c.List(ctx)
		if err != nil {
			return 0, 0, err
		}
		for _, p := range list {
			if p.Name == name {
				if p.Status != api.StatusOnline || p.PID == 0 {
					return 0, 0, fmt.Errorf("%s is %s (pid %d), not online", name, p.Status, p.PID)
				}
				return p.ID, p.PID, nil
			}
		}
		return 0, 0, fmt.Errorf("no app named %q", name)
	}

	// once kills the app and waits for its online event with a new pid. It returns the client-side latency, the
	// daemon-side one (event timestamp - kill), and the statuses seen on the way.
	once := func() (time.Duration, time.Duration, []string, error) {
		id, pid, err := find()
		if err != nil {
			return 0, 0, nil, err
		}
		for len(events) > 0 {
			<-events
		}
		proc, err := os.FindProcess(pid)
		if err != nil {
			return 0, 0, nil, err
		}
		var seen []string
		deadline := time.NewTimer(timeout)
		defer deadline.Stop()
		t0 := time.Now()
		if err := proc.Kill(); err != nil {
			return 0, 0, nil, fmt.Errorf("kill %d: %w", pid, err)
		}
		for {
			select {
			case e := <-events:
				if e.ID != id {
					continue
				}
				seen = append(seen, fmt.Sprintf("%s(pid %d)", e.Status, e.PID))
				if e.Status == api.StatusOnline && e.PID != 0 && e.PID != pid {
					return e.at.Sub(t0), e.Time.Sub(t0), seen, nil
				}
			case <-deadline.C:
				return 0, 0, seen, fmt.Errorf("no online event with a new pid within %v (saw %v)", timeout, seen)
			case err := <-streamErr:
				if err == nil {
					err = errors.New("stream ended")
				}
				return 0, 0, seen, fmt.Errorf("event stream: %w", err)
			}
		}
	}

	var res result
	if _, _, seen, err := once(); err != nil {
		// A warm-up that raced the subscription; the app is restarted anyway. Make sure it is back before going on.
		fmt.Fprintln(os.Stderr, "restartlat: warm-up:", err)
		time.Sleep(gap)
		if _, _, err := find(); err != nil {
			return err
		}
	} else {
		res.EventsFirstRun = seen
	}
	var daemonSide []float64
	for i := 0; i < runs; i++ {
		time.Sleep(gap)
		d, ds, _, err := once()
		if err != nil {
			return fmt.Errorf("run %d: %w", i+1, err)
		}
		res.Runs = append(res.Runs, ms(d))
		daemonSide = append(daemonSide, ms(ds))
	}
	res.MedianMS = median(res.Runs)
	res.MinMS = slices.Min(res.Runs)
	res.MaxMS = slices.Max(res.Runs)
	res.DaemonMedianMS = median(daemonSide)
	return json.NewEncoder(os.Stdout).Encode(res)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
