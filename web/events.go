package web

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gpmd/gpm/api"
	"github.com/gpmd/gpm/internal/jsontext"
)

// Limits of the event streams (GET /api/events), each named in the errors and events that report it.
const (
	// RingBytes bounds the state and sample events kept for resuming streams (Last-Event-ID), as eventCost counts
	// them; RingLogBytes bounds the log lines kept. Two budgets, so that a chatty app does not push the state
	// changes out: at 10,000 lines/s the lines cover a fraction of a second, the states many minutes.
	RingBytes    = 512 << 10
	RingLogBytes = 512 << 10
	// ClientQueue bounds the events one stream may have waiting for its reader, in bytes as eventCost counts them
	// (about 14,000 log lines of 100 bytes); a reader that falls that far behind is dropped, with a final "closed"
	// event, so that it never holds events (or the daemon) back. The queue grows as it fills, in blocks of 128
	// events: an idle stream keeps at most two empty blocks (45 KB).
	ClientQueue = 4 << 20
	// MaxStreams bounds the open event streams; one more is answered 503.
	MaxStreams = 64
)

const (
	// keepaliveInterval: a comment line this often keeps proxies from closing an idle stream (the SSE spec's
	// advice is about 15 s).
	keepaliveInterval = 15 * time.Second
	// sseWriteTimeout bounds one write to a stream: a reader that reads nothing for this long is cut off.
	sseWriteTimeout = 10 * time.Second
	// resubscribeDelay is the pause before the server subscribes to the daemon again after its stream failed.
	resubscribeDelay = time.Second
	// sseFlushDelay is how long an event may wait in the stream's buffer for others to share its write;
	// sseFlushBytes is how much is written at once.
	sseFlushDelay = 5 * time.Millisecond
	sseFlushBytes = 16 << 10
)

// Event types of the streams beyond the daemon's (api.EventState, api.EventLog, api.EventSample,
// api.EventDropped).
const (
	// EventLost opens a resumed stream whose Last-Event-ID is older than what the server kept (RingBytes), or not
	// from this daemon's run: the events between are lost; the reader should reload its state (GET /api/processes).
	EventLost = "lost"
	// EventClosed ends a stream whose reader was too slow (ClientQueue); it may reconnect with Last-Event-ID.
	EventClosed = "closed"
)

// ring keeps recent events, oldest first, within a byte budget: a circular buffer that grows to what the budget
// holds (an event is copied in once, and nothing is copied again as old ones go).
type ring struct {
	buf     []api.Event // buf[(head+i) % len(buf)] for i < n, oldest first
	head, n int
	bytes   int64
	budget  int64
	// lost is the highest Seq no longer kept (evicted, or never received): a resume from before it lost events.
	lost uint64
}

func (r *ring) at(i int) *api.Event { return &r.buf[(r.head+i)%len(r.buf)] }

func (r *ring) add(e *api.Event) {
	if r.n == len(r.buf) {
		grown := make([]api.Event, max(64, 2*len(r.buf)))
		for i := range r.n {
			grown[i] = *r.at(i)
		}
		r.buf, r.head = grown, 0
	}
	*r.at(r.n) = *e
	r.n++
	r.bytes += eventCost(e)
	for r.bytes > r.budget && r.n > 1 {
		old := r.at(0)
		r.bytes -= eventCost(old)
		r.lost = max(r.lost, old.Seq)
		*old = api.Event{}
		r.head = (r.head + 1) % len(r.buf)
		r.n--
	}
}

// after returns the kept events with a Seq over seq that keep accepts.
func (r *ring) after(seq uint64, keep func(*api.Event) bool) []api.Event {
	var out []api.Event
	for i := range r.n {
		if e := r.at(i); e.Seq > seq && keep(e) {
			out = append(out, *e)
		}
	}
	return out
}

// eventCost is what an event holds in memory, roughly: its strings and samples and the struct.
func eventCost(e *api.Event) int64 {
	return int64(200 + len(e.Name) + len(e.Line) + len(e.Reason) + len(e.Status) + 48*len(e.Samples))
}

// hub is the server's subscriptions to the daemon, the rings of recent events, and the streams it feeds.
// Publishing never blocks: a stream whose queue is full is dropped.
//
// Two subscriptions: one for state changes and samples, held while the server runs, and one for log lines, held
// only while a stream asks for them (and logLinger after the last one left, for it to resume). Log lines cost the
// daemon nothing while nobody subscribes to them (it does not even make events of them); a subscription to them
// for ever made a chatty app cost the daemon 50 times the CPU (3.4 s against 0.07 s for 300,000 lines).
type hub struct {
	s     *Server
	mu    sync.Mutex
	ctx   context.Context // the server's, while run runs
	state ring            // state changes and samples
	logs  ring            // log lines
	last  uint64
	// gapState and gapLogs: events of that kind were lost after last (a subscription was slow, restarted, or has
	// just begun): a resume from before now lost some.
	gapState, gapLogs bool
	streams           map[*stream]struct{}
	logStreams        int         // streams that want log lines
	stopLogs          func()      // ends the log subscription, nil when none runs
	logIdle           *time.Timer // ends it logLinger after the last log stream left
}

// logLinger is how long the log subscription outlives the last stream that wanted it: a reader that reconnects
// within it resumes without a loss.
const logLinger = 30 * time.Second

func newHub(s *Server) *hub {
	return &hub{s: s, state: ring{budget: RingBytes}, logs: ring{budget: RingLogBytes}, gapState: true, gapLogs: true,
		streams: map[*stream]struct{}{}}
}

// stream is one reader of GET /api/events.
type stream struct {
	logs bool   // log lines wanted
	name string // only the log lines of this app ("" for all)

	mu sync.Mutex
	// The events waiting for the reader, oldest first, in blocks: the writer takes the whole chain at once and gives
	// it back for reuse with the next take. (One slice, let go after a burst and grown again by doubling in the
	// next, cost a fifth of the daemon's CPU under a bulk writer.)
	head, tail *eventBlock
	spare      []*eventBlock // emptied blocks, at most maxSpareBlocks
	bytes      int64         // eventCost of the queued events
	ready      chan struct{}
	dropped    chan struct{} // closed when the queue overflowed
	closed     bool
}

// eventBlock holds up to blockEvents queued events (about 22 KB).
type eventBlock struct {
	ev   [blockEvents]api.Event
	n    int
	next *eventBlock
}

const (
	blockEvents    = 128
	maxSpareBlocks = 2
)

func newStream() *stream {
	return &stream{ready: make(chan struct{}, 1), dropped: make(chan struct{})}
}

// offer queues e; false when the queue is over ClientQueue (the stream is then dropped).
func (st *stream) offer(e *api.Event) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.closed {
		return false
	}
	cost := eventCost(e)
	if st.bytes+cost > ClientQueue {
		st.closed = true
		close(st.dropped)
		return false
	}
	if st.tail == nil || st.tail.n == blockEvents {
		var b *eventBlock
		if n := len(st.spare); n > 0 {
			b, st.spare = st.spare[n-1], st.spare[:n-1]
		} else {
			b = new(eventBlock)
		}
		if st.tail == nil {
			st.head = b
		} else {
			st.tail.next = b
		}
		st.tail = b
	}
	st.tail.ev[st.tail.n] = *e
	st.tail.n++
	st.bytes += cost
	select {
	case st.ready <- struct{}{}:
	default:
	}
	return true
}

// take returns the waiting events (a chain of blocks, nil when none waits), and takes back done, the chain of the
// last take, which the caller has written.
func (st *stream) take(done *eventBlock) *eventBlock {
	for b := done; b != nil; b = b.next {
		clear(b.ev[:b.n]) // their lines are garbage once written
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	for b := done; b != nil; {
		next := b.next
		if len(st.spare) < maxSpareBlocks {
			b.n, b.next = 0, nil
			st.spare = append(st.spare, b)
		}
		b = next
	}
	out := st.head
	st.head, st.tail, st.bytes = nil, nil, 0
	return out
}

func (st *stream) wants(e *api.Event) bool {
	if e.Type == api.EventLog {
		return st.logs && (st.name == "" || e.Name == st.name)
	}
	return true
}

// run holds the state subscription until ctx ends, subscribing again when it fails; the log subscription runs
// inside it.
func (h *hub) run(ctx context.Context) {
	h.mu.Lock()
	h.ctx = ctx
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		h.ctx = nil
		if h.logIdle != nil {
			h.logIdle.Stop()
			h.logIdle = nil
		}
		stop := h.stopLogs
		h.stopLogs = nil
		h.mu.Unlock()
		if stop != nil {
			stop() // it ends with ctx anyway; this waits for it
		}
	}()
	// nologs: states and samples only, and no event built for a line while no stream asks for lines.
	h.subscribe(ctx, api.MethodSubscribe, api.LogsParams{NoLogs: true}, &h.gapState)
}

// subscribe streams method into publish until ctx ends, again after a failure; *gap is set when events of the
// subscription may have been lost.
func (h *hub) subscribe(ctx context.Context, method string, params api.LogsParams, gap *bool) {
	for {
		err := h.s.caller.Stream(ctx, method, params, func(e api.Event) error {
			h.publish(e, gap)
			return nil
		})
		h.mu.Lock()
		*gap = true
		h.mu.Unlock()
		if ctx.Err() != nil {
			return
		}
		h.s.log.Printf("web: event subscription (%s) ended: %v; subscribing again in %s", method, err, resubscribeDelay)
		select {
		case <-ctx.Done():
			return
		case <-time.After(resubscribeDelay):
		}
	}
}

// wantLogs counts a stream that wants log lines in (+1) or out (-1), starting the log subscription for the first
// and ending it logLinger after the last; h.mu held.
func (h *hub) wantLogs(delta int) {
	h.logStreams += delta
	switch {
	case h.logStreams > 0 && h.logIdle != nil:
		h.logIdle.Stop()
		h.logIdle = nil
		if h.stopLogs != nil {
			return
		}
		fallthrough
	case h.logStreams > 0 && h.stopLogs == nil:
		if h.ctx == nil {
			return
		}
		ctx, cancel := context.WithCancel(h.ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			h.subscribe(ctx, api.MethodLogs, api.LogsParams{}, &h.gapLogs)
		}()
		h.stopLogs = func() { cancel(); <-done }
	case h.logStreams == 0 && h.stopLogs != nil && h.logIdle == nil:
		h.logIdle = time.AfterFunc(logLinger, func() {
			h.mu.Lock()
			stop := h.stopLogs
			if h.logStreams > 0 || stop == nil {
				h.mu.Unlock()
				return
			}
			h.stopLogs, h.logIdle = nil, nil
			h.mu.Unlock()
			stop() // outside mu: the subscription's last publish takes it
		})
	}
}

func (h *hub) publish(e api.Event, gap *bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case e.Type == api.EventDropped:
		// The daemon dropped events of this subscription (it read too slowly): the ring has a hole.
		*gap = true
		h.s.stats.subscriptionLost.Add(e.Dropped)
	case e.Seq != 0:
		r := &h.state
		if e.Type == api.EventLog {
			r = &h.logs
		}
		if *gap {
			r.lost = max(r.lost, e.Seq-1)
			*gap = false
		}
		h.last = max(h.last, e.Seq)
		r.add(&e)
	}
	for st := range h.streams {
		if !st.wants(&e) {
			continue
		}
		if !st.offer(&e) {
			delete(h.streams, st)
			h.s.stats.streamsDropped.Add(1)
		}
	}
}

// join adds st; with a resume point (Last-Event-ID), it returns the kept events after it that st wants, and lost
// when some are no longer kept. It fails when MaxStreams are open.
func (h *hub) join(st *stream, resume *uint64) (replay []api.Event, lost bool, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.streams) >= MaxStreams {
		return nil, false, &api.Error{Code: api.CodeBusy, Message: fmt.Sprintf(
			"%d event streams are open, the limit (web.MaxStreams): close one", MaxStreams)}
	}
	if resume != nil {
		l := *resume
		if l > h.last {
			// Not from this daemon's run: sequence numbers start at 1 with each.
			lost = true
		} else {
			// A gap is a hole right after last: whatever followed l includes it.
			lost = h.gapState || l < h.state.lost || (st.logs && (h.gapLogs || l < h.logs.lost))
			replay = merge(h.state.after(l, st.wants), h.logs.after(l, st.wants))
		}
	}
	h.streams[st] = struct{}{}
	if st.logs {
		h.wantLogs(+1)
	}
	return replay, lost, nil
}

func (h *hub) leave(st *stream) {
	h.mu.Lock()
	delete(h.streams, st)
	if st.logs {
		h.wantLogs(-1)
	}
	h.mu.Unlock()
}

// merge merges two lists sorted by Seq.
func merge(a, b []api.Event) []api.Event {
	out := make([]api.Event, 0, len(a)+len(b))
	for len(a) > 0 && len(b) > 0 {
		if a[0].Seq < b[0].Seq {
			out, a = append(out, a[0]), a[1:]
		} else {
			out, b = append(out, b[0]), b[1:]
		}
	}
	return append(append(out, a...), b...)
}

// handleEvents answers GET /api/events as Server-Sent Events: every event of the daemon but log lines, and with
// ?logs=1 the log lines (of ?name=APP only, when given). Each event is `id: SEQ` (when it has one), `event: TYPE`
// and `data: JSON` (an api.Event). A Last-Event-ID header (or ?last_event_id=) resumes after that event.
func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	st := newStream()
	st.name = q.Get("name")
	switch q.Get("logs") {
	case "", "0", "false":
	default:
		st.logs = true
	}
	var resume *uint64
	id := r.Header.Get("Last-Event-ID")
	if id == "" {
		id = q.Get("last_event_id")
	}
	if id != "" {
		n, err := strconv.ParseUint(strings.TrimSpace(id), 10, 64)
		if err != nil {
			writeError(w, http.StatusBadRequest, &api.Error{Code: api.CodeInvalid, Message: fmt.Sprintf("Last-Event-ID %q: not an event id (a number)", id)})
			return
		}
		resume = &n
	}
	replay, lost, err := s.events.join(st, resume)
	if err != nil {
		s.fail(w, err)
		return
	}
	defer s.events.leave(st)
	s.stats.streams.Add(1)
	defer s.stats.streams.Add(-1)

	rc := http.NewResponseController(w)
	// The server's ReadTimeout would end the stream: the connection's read deadline also watches for the
	// client going away.
	rc.SetReadDeadline(time.Time{})
	// Every write has a deadline, those that bw makes when it fills between flushes too: the replay below (up to the
	// ring's size) and a batch of events write through bw before their flush, and a reader that never reads would
	// otherwise hold this goroutine and its connection for ever.
	rc.SetWriteDeadline(time.Now().Add(sseWriteTimeout))
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(w, 32<<10)
	flush := func() error {
		rc.SetWriteDeadline(time.Now().Add(sseWriteTimeout))
		if err := bw.Flush(); err != nil {
			return err
		}
		return rc.Flush()
	}
	enc := newEncoder(bw)
	fmt.Fprintf(bw, "retry: 2000\n\n")
	if lost {
		enc.write(&api.Event{Type: EventLost, Time: time.Now(), Reason: fmt.Sprintf(
			"Last-Event-ID %d is older than the events kept (web.RingBytes) or from an earlier run of the daemon: events were lost; reload the list", *resume)})
	}
	for i := range replay {
		enc.write(&replay[i])
	}
	if flush() != nil {
		return
	}
	keepalive := time.NewTicker(keepaliveInterval)
	defer keepalive.Stop()
	// A busy stream is flushed when sseFlushBytes are buffered or sseFlushDelay after its first unflushed event,
	// not after every event: one write(2) per log line cost the daemon more than the line itself.
	flushTimer := time.NewTimer(time.Hour)
	flushTimer.Stop()
	pending := false
	var batch *eventBlock
	for {
		select {
		case <-st.ready:
			rc.SetWriteDeadline(time.Now().Add(sseWriteTimeout))
			batch = st.take(batch)
			for b := batch; b != nil; b = b.next {
				for i := range b.n {
					enc.write(&b.ev[i])
				}
			}
			switch {
			case bw.Buffered() >= sseFlushBytes:
				if flush() != nil {
					return
				}
			case !pending:
				pending = true
				flushTimer.Reset(sseFlushDelay)
			}
		case <-flushTimer.C:
			pending = false
			if flush() != nil {
				return
			}
		case <-st.dropped:
			for b := st.take(batch); b != nil; b = b.next {
				for i := range b.n {
					enc.write(&b.ev[i])
				}
			}
			enc.write(&api.Event{Type: EventClosed, Time: time.Now(), Reason: fmt.Sprintf(
				"reader too slow: %d bytes of events were waiting (web.ClientQueue); reconnect with Last-Event-ID", ClientQueue)})
			flush()
			return
		case <-keepalive.C:
			bw.WriteString(": keepalive\n\n")
			if flush() != nil {
				return
			}
		case <-r.Context().Done():
			return
		}
	}
}

// encoder writes events as SSE. Events without samples (log lines, states) are encoded by appendEvent, as
// encoding/json encodes an api.Event (TestAppendEvent), without reflection; the others through one json.Encoder.
type encoder struct {
	w   *bufio.Writer
	enc *json.Encoder
}

func newEncoder(w *bufio.Writer) *encoder {
	e := &encoder{w: w, enc: json.NewEncoder(w)}
	e.enc.SetEscapeHTML(false)
	return e
}

// write writes e as one SSE event: id (when it has a Seq), event, and one data line (JSON has no raw newline).
func (e *encoder) write(ev *api.Event) {
	w := e.w
	if len(ev.Samples) > 0 {
		w.Write(appendEventHead(w.AvailableBuffer(), ev))
		e.enc.Encode(ev) // ends with a newline
		w.WriteByte('\n')
		return
	}
	b := appendEventHead(w.AvailableBuffer(), ev)
	b = appendEvent(b, ev)
	w.Write(append(b, '\n', '\n'))
}

// appendEventHead appends the SSE lines before an event's data: `id: SEQ` (when it has one), `event: TYPE`, and
// `data: `.
func appendEventHead(b []byte, ev *api.Event) []byte {
	if ev.Seq != 0 {
		b = append(b, "id: "...)
		b = strconv.AppendUint(b, ev.Seq, 10)
		b = append(b, '\n')
	}
	b = append(b, "event: "...)
	b = append(b, ev.Type...)
	return append(b, "\ndata: "...)
}

// appendEvent appends ev as JSON, as encoding/json with SetEscapeHTML(false) would (TestAppendEvent), except its
// Samples, which it leaves out (write encodes an event with samples through encoding/json).
func appendEvent(b []byte, ev *api.Event) []byte {
	b = append(b, `{"type":`...)
	b = jsontext.AppendString(b, ev.Type, false)
	if !ev.Time.IsZero() {
		b = append(b, `,"time":"`...)
		b = ev.Time.AppendFormat(b, time.RFC3339Nano)
		b = append(b, '"')
	}
	b = append(b, `,"id":`...)
	b = strconv.AppendInt(b, int64(ev.ID), 10)
	str := func(b []byte, key, v string) []byte {
		if v == "" {
			return b
		}
		b = append(b, key...)
		return jsontext.AppendString(b, v, false)
	}
	b = str(b, `,"name":`, ev.Name)
	b = str(b, `,"status":`, ev.Status)
	if ev.PID != 0 {
		b = append(b, `,"pid":`...)
		b = strconv.AppendInt(b, int64(ev.PID), 10)
	}
	b = str(b, `,"stream":`, ev.Stream)
	b = str(b, `,"line":`, ev.Line)
	b = str(b, `,"reason":`, ev.Reason)
	if ev.Dropped != 0 {
		b = append(b, `,"dropped":`...)
		b = strconv.AppendInt(b, ev.Dropped, 10)
	}
	if ev.Seq != 0 {
		b = append(b, `,"seq":`...)
		b = strconv.AppendUint(b, ev.Seq, 10)
	}
	return append(b, '}')
}

// stats are the server's own counters, for /metrics.
type stats struct {
	requests         atomic.Int64 // HTTP requests received
	refused          atomic.Int64 // refused by the access rules
	streams          atomic.Int64 // event streams open
	streamsDropped   atomic.Int64 // streams dropped for a slow reader
	subscriptionLost atomic.Int64 // events the daemon dropped from the server's own subscription
}
