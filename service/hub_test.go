package service

import (
	"strings"
	"testing"

	"github.com/gpmd/gpm/api"
)

// TestHubBudget_Issue11Item9: a subscriber that never reads holds at most maxSubscriberQueue bytes of events (it held
// 4,096 events of up to 64 KB each), and when it reads again it finds, where the events were lost, one
// EventDropped that counts them; what it receives plus what was dropped is everything published.
func TestHubBudget_Issue11Item9(t *testing.T) {
	h := newHub()
	s := h.subscribe(nil, true)
	defer h.unsubscribe(s)
	line := strings.Repeat("x", 1000)
	const published = 20_000 // 20 MB of lines
	for i := 0; i < published; i++ {
		h.publish(api.Event{Type: api.EventLog, ID: 1, Name: "chatty", Line: line})
		if b := s.queuedBytes(); b > maxSubscriberQueue+eventOverhead {
			t.Fatalf("after %d events the subscriber holds %d bytes, over maxSubscriberQueue (%d)", i+1, b, maxSubscriberQueue)
		}
	}
	var logs, dropped int64
	var last api.Event
	var batch []api.Event
	for batch = s.take(batch); len(batch) > 0; batch = s.take(batch) {
		if len(batch) > maxTake {
			t.Fatalf("take: %d events, over maxTake", len(batch))
		}
		for _, e := range batch {
			switch e.Type {
			case api.EventLog:
				logs++
			case api.EventDropped:
				dropped += e.Dropped
			}
			last = e
		}
	}
	if dropped == 0 || last.Type != api.EventDropped {
		t.Fatalf("no EventDropped at the end of the queue (last %+v, %d dropped)", last, dropped)
	}
	if logs+dropped != published {
		t.Errorf("%d received + %d dropped, want %d published", logs, dropped, published)
	}
	if b, q := s.queuedBytes(), h.queued.Load(); b != 0 || q != 0 {
		t.Errorf("after reading everything: %d bytes queued for the subscriber, %d in the hub", b, q)
	}
	// Caught up, it receives events again, in order, with no marker.
	h.publish(api.Event{Type: api.EventLog, Line: "again"})
	if e, ok := s.next(); !ok || e.Line != "again" {
		t.Fatalf("after catching up: %+v %v", e, ok)
	}
}

// TestHubGlobalBudget_Issue11Item9: many never-reading subscribers together hold at most maxQueuedEvents (and one
// event each beyond it), not maxSubscriberQueue each.
func TestHubGlobalBudget_Issue11Item9(t *testing.T) {
	h := newHub()
	const subs = 2 * maxQueuedEvents / maxSubscriberQueue // they could hold twice maxQueuedEvents
	var all []*subscriber
	for i := 0; i < subs; i++ {
		all = append(all, h.subscribe(nil, true))
	}
	line := strings.Repeat("y", 4000)
	cost := eventCost(&api.Event{Line: line})
	for i := 0; i < 2*maxSubscriberQueue/4000; i++ {
		h.publish(api.Event{Type: api.EventLog, Line: line})
		if q := h.queued.Load(); q > maxQueuedEvents+subs*(cost+eventOverhead) {
			t.Fatalf("the hub holds %d bytes for %d subscribers, over maxQueuedEvents (%d)", q, subs, maxQueuedEvents)
		}
	}
	for _, s := range all {
		h.unsubscribe(s)
	}
	if q := h.queued.Load(); q != 0 {
		t.Errorf("%d bytes still counted after every subscriber left", q)
	}
}
