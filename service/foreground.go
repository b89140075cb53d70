package service

import (
	"context"

	"github.com/gpmd/gpm/api"
)

// What a process that runs a daemon inside itself needs (gpm run, start --no-daemon: the container's PID 1, where a
// second process would cost its memory and its start-up): to know when the daemon serves, and to follow its events
// from before the first app starts.

// Serving returns a channel that is closed once d serves: from then on d.Caller() reaches a daemon that has taken
// over from a dead one and may start apps. It is never closed if Run fails before it serves (Run's error says why).
func (d *Daemon) Serving() <-chan struct{} { return d.serving }

// Stopped returns a channel that is closed once d takes no more requests (its loop has ended, as Run stops): a
// call through d.Caller() then fails at once, and Run is about to return.
func (d *Daemon) Stopped() <-chan struct{} { return d.loopDone }

// Follow calls fn with every log line and state change d publishes (api.MethodSubscribe's stream, without the
// samples) until ctx ends or fn returns an error, which Follow returns. subscribed is called once the subscription
// is in place, before any event: what the caller does after it (start its apps) cannot publish a line that Follow
// misses. When ctx ends, the events already queued are still given to fn (the last lines of apps that were just
// stopped), then Follow returns nil. Like any subscriber, a reader slower than the apps' output loses the events
// over the hub's budget (maxSubscriberQueue) and gets an api.EventDropped in their place.
func (d *Daemon) Follow(ctx context.Context, subscribed func(), fn func(api.Event) error) error {
	var lp api.LogsParams
	return d.events(ctx, api.MethodSubscribe, &lp, func() error { subscribed(); return nil }, func(e api.Event) error {
		if e.Type == api.EventSample {
			return nil
		}
		return fn(e)
	})
}
