package web

import (
	"bufio"
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/gpmd/gpm/api"
)

// appendEvent writes what encoding/json writes for an api.Event (SetEscapeHTML(false)), whatever its strings hold:
// the readers of the stream decode it as an api.Event.
func TestAppendEvent(t *testing.T) {
	pieces := []string{"", "a", "line of text", `"`, `\`, "\n", "\r", "\t", "\b", "\f", "\x00", "\x01", "\x1f", "\x7f",
		"<&>", "é", "日本", "\u2028", "\u2029", "\xff", "\xe2\x80", "\xed\xa0\x80", "😀", "\U0010FFFF", "{}", "'"}
	rnd := rand.New(rand.NewPCG(1, 2))
	str := func() string {
		var sb strings.Builder
		for range rnd.IntN(6) {
			sb.WriteString(pieces[rnd.IntN(len(pieces))])
		}
		return sb.String()
	}
	events := []api.Event{
		{},
		{Type: api.EventLog, Time: time.Date(2026, 12, 5, 2, 3, 4, 5006007, time.UTC), ID: 3, Name: "chatty", Stream: "out",
			Line: strings.Repeat("0", 90), Seq: 12345},
		{Type: api.EventState, Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600)), ID: -1, Status: "online", PID: 42,
			Reason: "exit code 1"},
		{Type: api.EventDropped, Dropped: 7},
	}
	for range 5000 {
		events = append(events, api.Event{Type: str(), ID: rnd.IntN(3) - 1, Name: str(), Status: str(), PID: rnd.IntN(3),
			Stream: str(), Line: str(), Reason: str(), Dropped: int64(rnd.IntN(2)), Seq: uint64(rnd.IntN(2)),
			Time: time.Unix(int64(rnd.IntN(2))*rnd.Int64N(1<<34), rnd.Int64N(1e9)).In(time.FixedZone("", 60*(rnd.IntN(100)-50)))})
	}
	for _, ev := range events {
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(&ev); err != nil {
			t.Fatal(err)
		}
		got := appendEvent(nil, &ev)
		if string(got) != strings.TrimSuffix(want.String(), "\n") {
			t.Fatalf("event %+v:\n got %s\nwant %s", ev, got, want.Bytes())
		}
	}
}

// An event becomes `id: SEQ` (when it has one), `event: TYPE`, one `data: JSON` line and a blank line, with or
// without samples.
func TestEncoderFraming(t *testing.T) {
	var out bytes.Buffer
	bw := bufio.NewWriter(&out)
	enc := newEncoder(bw)
	enc.write(&api.Event{Type: api.EventLog, ID: 1, Name: "a", Line: "x\ny", Seq: 9})
	enc.write(&api.Event{Type: api.EventSample, Seq: 10, Samples: []api.Sample{{ID: 1, PID: 2, CPU: 0.5, Memory: 3}}})
	enc.write(&api.Event{Type: EventClosed, Reason: "slow"})
	bw.Flush()
	want := `id: 9
event: log
data: {"type":"log","id":1,"name":"a","line":"x\ny","seq":9}

id: 10
event: sample
data: {"type":"sample","id":0,"seq":10,"samples":[{"id":1,"pid":2,"cpu":0.5,"memory":3,"cpu_seconds":0}]}

event: closed
data: {"type":"closed","id":0,"reason":"slow"}

`
	if out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", out.String(), want)
	}
}

// The ring keeps the newest events within its budget, in order, and says which Seq it lost.
func TestRing(t *testing.T) {
	r := ring{budget: 100 * eventCost(&api.Event{Line: "x"})}
	for i := uint64(1); i <= 1000; i++ {
		r.add(&api.Event{Seq: i, Line: "x"})
		if r.n > 100 {
			t.Fatalf("after %d events the ring holds %d, over its budget of 100", i, r.n)
		}
		if i == 50 {
			if got := r.after(45, func(*api.Event) bool { return true }); len(got) != 5 || got[0].Seq != 46 || got[4].Seq != 50 {
				t.Fatalf("after(45) at 50: %v", got)
			}
		}
	}
	got := r.after(0, func(e *api.Event) bool { return e.Seq%2 == 0 })
	if len(got) != 50 || got[0].Seq != 902 || got[49].Seq != 1000 || r.lost != 900 {
		t.Fatalf("after 1000: %d events from %d to %d, lost %d; want 50 from 902 to 1000, lost 900", len(got), got[0].Seq, got[len(got)-1].Seq, r.lost)
	}
}
