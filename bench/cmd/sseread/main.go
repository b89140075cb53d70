// Command sseread is a fast reader of gpm's event stream (GET /api/events, docs/HTTP.md) for bench/web.sh: it
// counts the log events it receives until it has N of them, or nothing came for a while, and prints
// "LINES SECONDS LINES_PER_SECOND DROPPED CLOSED" (DROPPED: events the daemon said were lost; CLOSED: how many times
// the server dropped this reader as too slow, each time followed by a reconnection with Last-Event-ID, as a
// browser's EventSource does, without its retry delay). The clock starts at the first log event.
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"time"
)

func main() {
	url := flag.String("url", "http://127.0.0.1:9615/api/events?logs=1", "event stream")
	n := flag.Int("n", 1_000_000, "log events to wait for")
	idle := flag.Duration("idle", 5*time.Second, "give up after this long without an event")
	ready := flag.String("ready", "", "file to create once the stream is open")
	flag.Parse()
	// A large read buffer: the stream comes at tens of MB/s, and the transport's default of 4 KB made this reader,
	// not the server, the slow end (and a slow reader is dropped).
	client := &http.Client{Transport: &http.Transport{ReadBufferSize: 1 << 20, DisableCompression: true}}
	var count, dropped, closed int64
	var first, last time.Time
	lastID := ""
	for {
		req, err := http.NewRequest("GET", *url, nil)
		if err != nil {
			fmt.Fprintln(os.Stderr, "sseread:", err)
			os.Exit(1)
		}
		if lastID != "" {
			req.Header.Set("Last-Event-ID", lastID)
		}
		resp, err := client.Do(req)
		if err != nil {
			fmt.Fprintln(os.Stderr, "sseread:", err)
			os.Exit(1)
		}
		if resp.StatusCode != 200 {
			fmt.Fprintln(os.Stderr, "sseread:", resp.Status)
			os.Exit(1)
		}
		if *ready != "" && closed == 0 {
			os.WriteFile(*ready, nil, 0o644)
		}
		timer := time.AfterFunc(*idle, func() { resp.Body.Close() })
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		wasClosed := false
		for sc.Scan() {
			line := sc.Bytes()
			switch {
			case bytes.HasPrefix(line, []byte("id: ")):
				lastID = string(line[4:])
			case bytes.Equal(line, []byte("event: log")):
				if count == 0 {
					first = time.Now()
				}
				count++
				last = time.Now()
				if count%1000 == 0 {
					timer.Reset(*idle)
				}
			case bytes.Equal(line, []byte("event: closed")):
				wasClosed = true
			case bytes.HasPrefix(line, []byte(`data: {"type":"dropped"`)):
				if i := bytes.Index(line, []byte(`"dropped":`)); i > 0 {
					rest := line[i+10:]
					j := bytes.IndexAny(rest, ",}")
					if j > 0 {
						d, _ := strconv.ParseInt(string(rest[:j]), 10, 64)
						dropped += d
					}
				}
			}
			if count >= int64(*n) || wasClosed {
				break
			}
		}
		timer.Stop()
		resp.Body.Close()
		if !wasClosed || count >= int64(*n) {
			break
		}
		closed++
	}
	secs := last.Sub(first).Seconds()
	rate := 0.0
	if secs > 0 {
		rate = float64(count) / secs
	}
	fmt.Printf("%d %.3f %.0f %d %d\n", count, secs, rate, dropped, closed)
}
