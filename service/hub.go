package service

import (
	"sync"
	"sync/atomic"

	"github.com/gpmd/gpm/api"
)

// hub fans events out to subscribers. Publishing never blocks: a subscriber that falls behind loses events (and is
// told so), because a slow `gpm logs` must not slow down an application writing its output. The files are the
// lossless record.
type hub struct {
	mu   sync.Mutex
	subs map[*subscriber]struct{}
	n    atomic.Int32 // number of subscribers, read without the lock on the log hot path
}

type subscriber struct {
	ch      chan api.Event
	filter  func(*api.Event) bool
	dropped atomic.Int64
}

func newHub() *hub { return &hub{subs: map[*subscriber]struct{}{}} }

func (h *hub) subscribe(filter func(*api.Event) bool) *subscriber {
	s := &subscriber{ch: make(chan api.Event, 4096), filter: filter}
	h.mu.Lock()
	h.subs[s] = struct{}{}
	h.n.Add(1)
	h.mu.Unlock()
	return s
}

func (h *hub) unsubscribe(s *subscriber) {
	h.mu.Lock()
	if _, ok := h.subs[s]; ok {
		delete(h.subs, s)
		h.n.Add(-1)
	}
	h.mu.Unlock()
}

// active reports whether anyone listens, so that callers can skip building events.
func (h *hub) active() bool { return h.n.Load() > 0 }

func (h *hub) publish(e api.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		if s.filter != nil && !s.filter(&e) {
			continue
		}
		select {
		case s.ch <- e:
		default:
			s.dropped.Add(1)
		}
	}
}
