package service

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/gpmd/gpm/api"
)

// Budgets of the event hub, in bytes as eventCost counts them.
const (
	// maxSubscriberQueue bounds the events one subscriber has not taken yet. A subscriber that reads too slowly
	// loses the events over it and gets an api.EventDropped in their place. (It was 4,096 events of up to 64 KB:
	// 256 MB for one never-reading `gpm logs`.)
	maxSubscriberQueue = 4 << 20
	// maxQueuedEvents bounds the events queued for all subscribers together: past it, a subscriber that has
	// something queued already loses the new event, so that many slow subscribers cannot add up to
	// maxSubscriberQueue each.
	maxQueuedEvents = 64 << 20
	// eventOverhead is what an event costs beyond its strings: the api.Event in the queue and its share of the
	// queue's spare capacity.
	eventOverhead = 256
)

// hub fans events out to subscribers. Publishing never blocks: a subscriber that falls behind loses events (and is
// told so, with an api.EventDropped where they were), because a slow `gpm logs` must not slow down an application
// writing its output. The files are the lossless record.
type hub struct {
	mu     sync.Mutex
	subs   map[*subscriber]struct{}
	n      atomic.Int32 // number of subscribers, read without the lock on the log hot path
	lines  atomic.Int32 // number of subscribers that take log lines (wantsLines)
	queued atomic.Int64 // bytes queued for all subscribers (maxQueuedEvents)
	seq    uint64       // the last api.Event.Seq given, under mu
}

// subscriber is one listener's queue. publish appends to it under the hub's lock; its reader takes events with take
// (or next) after a signal on ready.
type subscriber struct {
	h      *hub
	filter func(*api.Event) bool
	lines  bool // takes log lines
	// ready holds a token when events were queued since the reader last looked.
	ready chan struct{}

	mu sync.Mutex
	// The queue, oldest first, in blocks of blockEvents: head.ev[read:head.n], then the blocks after it to tail.
	// Blocks rather than one slice: a slice that grew to a burst's backlog was let go once read and grown again,
	// by doubling and copying, in the next burst (a third of the daemon's CPU under a bulk writer). EventDropped
	// entries mark lost events.
	head, tail *queueBlock
	read       int
	spare      *queueBlock // one emptied block kept for the next
	bytes      int64       // eventCost of the queued events
}

// blockEvents is the size of a queue block: 128 events, about 22 KB.
const blockEvents = 128

type queueBlock struct {
	ev   [blockEvents]api.Event
	n    int
	next *queueBlock
}

func newHub() *hub { return &hub{subs: map[*subscriber]struct{}{}} }

// subscribe adds a subscriber; lines says whether it takes log lines at all (a live view that shows states and
// samples does not: with no such subscriber, the log pumps build no event for a line).
func (h *hub) subscribe(filter func(*api.Event) bool, lines bool) *subscriber {
	s := &subscriber{h: h, filter: filter, lines: lines, ready: make(chan struct{}, 1)}
	h.mu.Lock()
	h.subs[s] = struct{}{}
	h.n.Add(1)
	if lines {
		h.lines.Add(1)
	}
	h.mu.Unlock()
	return s
}

// unsubscribe removes s and frees what it had queued.
func (h *hub) unsubscribe(s *subscriber) {
	h.mu.Lock()
	if _, ok := h.subs[s]; ok {
		delete(h.subs, s)
		h.n.Add(-1)
		if s.lines {
			h.lines.Add(-1)
		}
	}
	h.mu.Unlock()
	s.mu.Lock()
	h.queued.Add(-s.bytes)
	s.head, s.tail, s.spare, s.read, s.bytes = nil, nil, nil, 0, 0
	s.mu.Unlock()
}

// active reports whether anyone listens, so that callers can skip building events.
func (h *hub) active() bool { return h.n.Load() > 0 }

// wantsLines reports whether anyone listens to log lines, so that the log pumps can skip building their events.
func (h *hub) wantsLines() bool { return h.lines.Load() > 0 }

// publish queues e for every subscriber that wants it and has room for it.
func (h *hub) publish(e api.Event) {
	cost := eventCost(&e)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seq++
	e.Seq = h.seq
	for s := range h.subs {
		if s.filter != nil && !s.filter(&e) {
			continue
		}
		s.offer(&e, cost)
		select {
		case s.ready <- struct{}{}:
		default:
		}
	}
}

// offer queues e, or counts it as dropped when s is over its budget, or s has something queued and all
// subscribers together are over theirs. A subscriber with an empty queue always takes the event: it is keeping up.
func (s *subscriber) offer(e *api.Event, cost int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bytes == 0 || (s.bytes+cost <= maxSubscriberQueue && s.h.queued.Load()+cost <= maxQueuedEvents) {
		s.push(*e, cost)
		return
	}
	if last := s.last(); last != nil && last.Type == api.EventDropped {
		last.Dropped++
		return
	}
	// The marker itself goes over the budget, by eventOverhead: at most one marker follows each queued event.
	s.push(api.Event{Type: api.EventDropped, Time: time.Now(), Dropped: 1}, eventOverhead)
}

// last is the newest queued event, nil when none is.
func (s *subscriber) last() *api.Event {
	t := s.tail
	if t == nil || t.n == 0 || (t == s.head && s.read == t.n) {
		return nil
	}
	return &t.ev[t.n-1]
}

func (s *subscriber) push(e api.Event, cost int64) {
	if s.tail == nil || s.tail.n == blockEvents {
		b := s.spare
		s.spare = nil
		if b == nil {
			b = new(queueBlock)
		}
		if s.tail == nil {
			s.head, s.read = b, 0
		} else {
			s.tail.next = b
		}
		s.tail = b
	}
	s.tail.ev[s.tail.n] = e
	s.tail.n++
	s.bytes += cost
	s.h.queued.Add(cost)
}

// pop removes the oldest queued event into *e; false when there is none.
func (s *subscriber) pop(e *api.Event) bool {
	b := s.head
	if b == nil || s.read == b.n {
		return false
	}
	*e = b.ev[s.read]
	b.ev[s.read] = api.Event{} // its line is garbage once sent
	s.read++
	cost := eventCost(e) // a marker's is eventOverhead, as offer counted it
	s.bytes -= cost
	s.h.queued.Add(-cost)
	if s.read == b.n {
		// The block is read: the next one follows, or the emptied queue starts again at its beginning. One
		// emptied block is kept, the others go.
		if b.next != nil {
			s.head, s.read = b.next, 0
			b.n, b.next = 0, nil
			s.spare = b
		} else {
			b.n, s.read = 0, 0
		}
	}
	return true
}

// next takes the oldest queued event; ok is false when there is none.
func (s *subscriber) next() (e api.Event, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ok = s.pop(&e)
	return e, ok
}

// maxTake bounds the events take moves out of the queue at once: what a reader holds beyond its budget while it
// sends them.
const maxTake = 256

// take moves up to maxTake of the oldest queued events into buf (emptied first) and returns it: one lock for many
// events, where next takes one (a bulk writer's lines come at 200,000 a second and more).
func (s *subscriber) take(buf []api.Event) []api.Event {
	clear(buf)
	buf = buf[:0]
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(buf) < maxTake {
		buf = append(buf, api.Event{})
		if !s.pop(&buf[len(buf)-1]) {
			return buf[:len(buf)-1]
		}
	}
	return buf
}

// queuedBytes is what s holds, for tests.
func (s *subscriber) queuedBytes() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bytes
}

// eventCost is what e costs in a queue, in bytes.
func eventCost(e *api.Event) int64 {
	return int64(eventOverhead + len(e.Line) + len(e.Name) + len(e.Reason) + 48*len(e.Samples))
}
